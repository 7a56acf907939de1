package workshop

import (
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
