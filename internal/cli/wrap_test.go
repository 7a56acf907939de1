package cli_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// Unwrap undoes Wrap, and leaves alone the lines a program indents itself.
func TestUnwrap(t *testing.T) {
	text := "2026-12-06 21:00:00 +1.5s  lock attempt timed out after 2s: no quorum (no leader) with 2 of 3 " +
		"members down, and a lock needs a majority (2 of 3) to commit its key, so it waits and waits and waits\n" +
		"  picture of the lock history:\n" +
		"    /tmp/TestREADME72850003/001/09-check-2914433475/mutex-none-pause-lock.html\n" +
		"mutex/etcd/pause   lock: illegal  data: ok       count 9 after 9 acknowledged writes, 1 refused by " +
		"the fence; client 0 stopped for 1.4s; its 1s lease expired meanwhile\n" +
		strings.Repeat("a", 97) + " by the fence: a word that ends at column 100 went to the next row\n" +
		"  who held the lock, around the violation (time since the experiment began):\n" +
		"    0.320s-0.341s  client 1  read 3, wrote 4\n"
	var out bytes.Buffer
	cli.Wrap(&out).Write([]byte(text))
	require.NotEqual(t, text, out.String(), "the test's lines are wide enough to wrap")
	assert.Equal(t, text, cli.Unwrap(out.String()))
}

// The flag package's usage lines start with a tab, which a terminal draws
// to column 8: Wrap counts it so, and continues under the text.
func TestWrapUsage(t *testing.T) {
	var out bytes.Buffer
	usage := "    \tcomma-separated client URLs of an etcd that is already running (default: $ETCDCTL_ENDPOINTS, " +
		"else an embedded etcd)"
	cli.Wrap(&out).Write([]byte(usage + "\n"))
	rows := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, rows, 2, out.String())
	for _, row := range rows {
		assert.LessOrEqual(t, cli.Width(row), cli.Columns, row)
	}
	assert.Regexp(t, `^ {8}\S`, rows[1], "under the text, past the tab")
	assert.Equal(t, 8, cli.Width("    \t"))
	assert.Equal(t, 8, cli.Width("分布式锁"), "a Chinese character takes two columns")
}

// A word wider than a line (a URL, a path) stays whole, on a row of its own:
// the words after it still wrap.
func TestWrapLongWord(t *testing.T) {
	var out bytes.Buffer
	word := "http://" + strings.Repeat("h", 120) + ":2379"
	cli.Wrap(&out).Write([]byte("error: cannot reach etcd at " + word + " within 5s: is it running? " +
		strings.Repeat("and more words ", 8) + "\n"))
	rows := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Greater(t, len(rows), 2, out.String())
	assert.Equal(t, "error: cannot reach etcd at", rows[0])
	assert.Equal(t, "    "+word, rows[1])
	for _, row := range rows[2:] {
		assert.LessOrEqual(t, cli.Width(row), cli.Columns, row)
	}
}
