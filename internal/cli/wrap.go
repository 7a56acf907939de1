package cli

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/width"
)

// Columns is the widest line a chapter prints: what a projector shows.
const Columns = 100

// Wrap returns a writer that breaks each line wider than Columns at its last
// space that fits, continuing on the next line indented under the text (past
// the article's timestamp, where the line starts with one). Lines go through
// whole: it holds a line until its end, except a live line (one that redraws
// itself with "\r" on a terminal), which goes through at once.
func Wrap(w io.Writer) io.Writer { return &wrapper{w: w} }

// Stat is w's, so that a live line still knows a terminal.
func (p *wrapper) Stat() (os.FileInfo, error) {
	if f, ok := p.w.(interface{ Stat() (os.FileInfo, error) }); ok {
		return f.Stat()
	}
	return nil, os.ErrInvalid
}

type wrapper struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (p *wrapper) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bytes.IndexByte(b, '\r') >= 0 {
		held := p.buf
		p.buf = nil
		_, err := p.w.Write(append(held, b...))
		return len(b), err
	}
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(p.buf[:i])
		p.buf = p.buf[i+1:]
		if _, err := io.WriteString(p.w, wrapLine(line)+"\n"); err != nil {
			return len(b), err
		}
	}
}

// flush writes what is held of a line that has no end.
func (p *wrapper) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		p.w.Write(p.buf)
		p.buf = nil
	}
}

// stamped is the article's timestamp and what chapters put after it: a
// "+2.2s" or a "name:" label.
var stamped = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\+\S+ +)?`)

func wrapLine(line string) string {
	if Width(line) <= Columns {
		return line
	}
	indent := continued(line)
	pad := strings.Repeat(" ", indent)
	var out []string
	for Width(line) > Columns {
		cut := breakAt(line, Columns)
		if cut <= indent { // one word wider than the line: whole, on a row of its own
			next := strings.IndexByte(line[indent+1:], ' ')
			if next < 0 {
				break
			}
			cut = indent + 1 + next
		}
		out = append(out, strings.TrimRight(line[:cut], " "))
		line = pad + strings.TrimLeft(line[cut:], " ")
	}
	return strings.Join(append(out, line), "\n")
}

// continued is how far in Wrap indents the rows it breaks line into.
func continued(line string) int {
	if m := stamped.FindString(line); m != "" {
		return len(m) + 2
	}
	return len(line) - len(strings.TrimLeft(line, " ")) + 4
}

// Unwrap joins the rows that Wrap broke lines into, and only those: a row
// continues the line above when it is indented as Wrap indents and its first
// word, with the space after it, would not have fitted on the row above.
// Tests compare whole lines: numbers of another width break at another word.
func Unwrap(text string) string {
	rows := strings.Split(text, "\n")
	var lines []string
	head, last := "", "" // the line being joined, and its last row
	for _, row := range rows {
		word, _, _ := strings.Cut(strings.TrimLeft(row, " "), " ")
		if head != "" && word != "" && len(row)-len(strings.TrimLeft(row, " ")) == continued(head) &&
			Width(last)+1+Width(word) >= Columns {
			lines[len(lines)-1] += " " + strings.TrimLeft(row, " ")
			last = row
			continue
		}
		lines = append(lines, row)
		head, last = row, row
	}
	return strings.Join(lines, "\n")
}

// breakAt is the byte offset of the last space within the first n columns.
func breakAt(line string, n int) int {
	last, col := -1, 0
	for i, r := range line {
		if col >= n {
			break
		}
		if r == ' ' {
			last = i
		}
		col = advance(col, r)
	}
	return last
}

// Width is how many columns s takes on a terminal: a tab goes on to the
// next multiple of 8, as the flag package's usage lines rely on; a Chinese
// character takes two, a combining mark none.
func Width(s string) int {
	col := 0
	for _, r := range s {
		col = advance(col, r)
	}
	return col
}

func advance(col int, r rune) int {
	switch k := width.LookupRune(r).Kind(); {
	case r == '\t':
		return col + 8 - col%8
	case unicode.Is(unicode.Mn, r):
		return col
	case k == width.EastAsianWide || k == width.EastAsianFullwidth:
		return col + 2
	}
	return col + 1
}
