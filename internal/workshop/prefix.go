package workshop

import (
	"bytes"
	"io"
)

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
