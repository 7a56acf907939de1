package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// TimeFormat is the article's timestamp layout.
const TimeFormat = "2006-01-02 15:04:05"

// Logf prints one line with the article's timestamp in front:
// "2026-11-25 10:04:05 locked...".
func Logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s %s\n", time.Now().Format(TimeFormat), fmt.Sprintf(format, args...))
}

// OrNone joins a list with sep, or says "none" for an empty one: "members
// answering: etcd1, etcd2; not answering: none".
func OrNone(list []string, sep string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, sep)
}

// Seconds formats d as "2.3s", the way the chapters report waits.
func Seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// LiveLine shows a changing status (a countdown) on one line that rewrites
// itself on a terminal. Anywhere else (a pipe, a log, a test) each update is a
// line of its own, so it prints one every PlainEvery at most: 6 lines for
// the article's 60 s lease, not 60.
type LiveLine struct {
	w        io.Writer
	terminal bool
	dirty    bool
	printed  time.Time // the last plain line
}

// PlainEvery is how often a LiveLine that is not on a terminal prints an update.
const PlainEvery = 10 * time.Second

// NewLiveLine returns a LiveLine writing to w.
func NewLiveLine(w io.Writer) *LiveLine {
	return &LiveLine{w: w, terminal: isTerminal(w)}
}

// Update replaces the status with a new one.
func (l *LiveLine) Update(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !l.terminal {
		if l.printed.IsZero() || time.Since(l.printed) >= PlainEvery {
			l.printed = time.Now()
			fmt.Fprintln(l.w, msg)
		}
		return
	}
	fmt.Fprintf(l.w, "\r\033[K%s", msg) // carriage return + clear line: redraw in place
	l.dirty = true
}

// Say replaces the status with a last one, always shown, and ends the line.
func (l *LiveLine) Say(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.terminal {
		fmt.Fprintf(l.w, "\r\033[K%s\n", msg)
	} else {
		fmt.Fprintln(l.w, msg)
	}
	l.dirty = false
}

// Done ends the live line, so the next output starts on a fresh line.
func (l *LiveLine) Done() {
	if l.dirty {
		fmt.Fprintln(l.w)
		l.dirty = false
	}
}

// isTerminal: w is a file (os.Stderr, or Main's wrapper of it) that is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// Prefixed returns a writer that puts label in front of every line written to
// w, such as "[holder pid 4242] ": a child's lines, told apart from the parent's.
// Each Write should end on a line, as Logf and fmt.Fprintln do.
func Prefixed(w io.Writer, label string) io.Writer { return &prefixWriter{w, []byte(label)} }

type prefixWriter struct {
	w     io.Writer
	label []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) > 0 {
			out = append(append(out, p.label...), line...)
		}
	}
	if _, err := p.w.Write(out); err != nil { // one write: lines stay whole
		return 0, err
	}
	return len(b), nil
}
