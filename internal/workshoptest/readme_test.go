package workshoptest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		want, got []string
		ok        bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b"}, []string{"a", "c"}, false},
		{[]string{"a", "..."}, []string{"a", "b", "c"}, true},
		{[]string{"a", "...", "c"}, []string{"a", "c"}, true},
		{[]string{"a", "...", "c"}, []string{"a", "b", "d"}, false},
		{[]string{"a"}, []string{"a", "b"}, false},
	} {
		assert.Equal(t, tc.ok, match(tc.want, tc.got), "%v ~ %v", tc.want, tc.got)
	}
}

func TestNormalize(t *testing.T) {
	got := normalize([]string{"locked... 2026-11-25 10:04:05 at http://127.0.0.1:40513 in 96ms, lease 694da2110193ed05, pid 42, count: 100"}, Varies)
	assert.Equal(t, []string{"locked... <time> at http://127.0.0.1:<port> in <duration>, lease <lease>, pid <pid>, count: 100"}, got)
}

const readme = "# x\n\n```\ngo run ./x -n 2\n```\n\n<!-- output of: go run ./x -n 2 -->\n```\nstarted in 5ms\ncount: 2\n```\n"

func fakeRun(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stderr, "started in 7ms")
	fmt.Fprintf(stdout, "count: %s\n", args[1])
	return nil
}

// A README whose output block matches passes; one wrong line fails; -update rewrites it.
func TestCheckREADMEs(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile("README.md", []byte(readme), 0o644))
	CheckREADMEs(t, fakeRun)

	require.NoError(t, os.WriteFile("README.md", []byte(readme[:len(readme)-14]+"count: 3\n```\n"), 0o644))
	assert.True(t, fails(t, func(tb testing.TB) { CheckREADMEs(tb, fakeRun) }), "a wrong count must fail")

	*update = true
	defer func() { *update = false }()
	CheckREADMEs(t, fakeRun)
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	assert.Contains(t, string(data), "```\nstarted in 7ms\ncount: 2\n```\n")
}

func TestUnmarkedOutputFails(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile("README.md", []byte("```\ngo run ./x\n```\n\n```\ncount: 2\n```\n<!-- output of: go run ./x -n 2 -->\n```\ncount: 2\n```\n"), 0o644))
	assert.True(t, fails(t, func(tb testing.TB) { CheckREADMEs(tb, fakeRun) }), "an output block nobody checks must fail")
}

// recorder is a testing.TB whose failures are recorded, not reported: a
// check that must fail runs on it. Its Fatal ends the check's goroutine, as
// testing's own does.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Error(...any)          { r.failed = true }
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recorder) FailNow()              { r.failed = true; runtime.Goexit() }
func (r *recorder) Failed() bool          { return r.failed }

// fails reports whether check fails.
func fails(t *testing.T, check func(testing.TB)) bool {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); check(r) }()
	<-done
	return r.failed
}
