package workshop

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"
)

// TimeFormat is the article's timestamp layout.
const TimeFormat = "2006-01-02 15:04:05"

// Logf prints one line with the article's timestamp in front:
// "2026-11-25 10:04:05 locked...".
func Logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s %s\n", time.Now().Format(TimeFormat), fmt.Sprintf(format, args...))
}

// Seconds formats d as "2.3s", the way the chapters report waits.
func Seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// LiveLine shows a changing status (a countdown) on one line that rewrites
// itself on a terminal, and as plain lines anywhere else (a pipe, a test).
type LiveLine struct {
	w        io.Writer
	terminal bool
	dirty    bool
}

// NewLiveLine returns a LiveLine writing to w.
func NewLiveLine(w io.Writer) *LiveLine {
	return &LiveLine{w: w, terminal: isTerminal(w)}
}

// Update replaces the status with a new one.
func (l *LiveLine) Update(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !l.terminal {
		fmt.Fprintln(l.w, msg)
		return
	}
	fmt.Fprintf(l.w, "\r\033[K%s", msg) // carriage return + clear line: redraw in place
	l.dirty = true
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
