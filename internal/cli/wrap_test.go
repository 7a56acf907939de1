package cli_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"etcd-lock-workshop/internal/cli"
)

// A line wider than the projector breaks at spaces, its continuation
// indented under the text; short lines and partial writes go through whole.
func TestWrap(t *testing.T) {
	var out bytes.Buffer
	w := cli.Wrap(&out)
	long := "2026-12-06 21:00:00 +1.5s  lock attempt timed out after 2s: no quorum (no leader) with 2 of 3 members down, " +
		"and a lock needs a majority (2 of 3) to commit its key"
	w.Write([]byte("short\n" + long[:30]))
	w.Write([]byte(long[30:] + "\n  an indented line that is also far too long for a projector, so it wraps, " +
		"and its continuation goes four spaces further in\n"))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), cli.Columns, l)
	}
	assert.Equal(t, "short", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "2026-12-06 21:00:00 +1.5s  lock attempt"), lines[1])
	assert.Regexp(t, `^ {29}\S`, lines[2], "two columns past the text after the timestamp")
	assert.Regexp(t, `^  an indented`, lines[3])
	assert.Regexp(t, `^ {6}\S`, lines[4], "four columns past the line's own indent")
	assert.Equal(t, strings.Join(strings.Fields(long), " "), strings.Join(strings.Fields(lines[1]+" "+lines[2]), " "),
		"every word kept, in order")
}
