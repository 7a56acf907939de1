package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

// The racy counter cannot run in this test process: under go test -race the
// detector would fail the test. So it runs as a child (this test binary,
// started again as the chapter), here with the detector's reports sent to a
// file: what remains is the program's own output.
func inChild(t *testing.T) cli.RunFunc {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		cmd, err := proc.Command(ctx, args...)
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0 exitcode=0 log_path="+filepath.Join(t.TempDir(), "race"))
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd.Run()
	}
}

// The README's output, with every count (at most 1000: a racy counter loses
// updates, it never invents them) and the summary's figures replaced.
func TestREADME(t *testing.T) {
	workshoptest.CheckREADMEs(t, inChild(t),
		workshoptest.R(`  +(1000|[0-9]{1,3})\b`, "  <count>"),
		workshoptest.R(`lost updates: \d+ of (\d+) \(lowest count: (1000|[0-9]{1,3}) of`, "lost updates: <n> of $1 (lowest count: <count> of"),
	)
}

var roundsLine = regexp.MustCompile(`(?m)^rounds? \d+(?:-\d+)?:((?: +\d+)+)$`)

// counts reads back every count of the table of rounds.
func counts(t *testing.T, out string) []int {
	var counts []int
	for _, m := range roundsLine.FindAllStringSubmatch(out, -1) {
		for _, f := range strings.Fields(m[1]) {
			n, err := strconv.Atoi(f)
			require.NoError(t, err)
			counts = append(counts, n)
		}
	}
	return counts
}

// What is certain in every run: every round printed a count, none above 1000,
// and the summary adds them up. (That some round loses an update is likely,
// not certain: ../shared checks it over many runs, not a test.)
func TestEveryRoundCountsAtMost1000(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, inChild(t)(t.Context(), []string{"-rounds", "25"}, &out, &out))

	got := counts(t, out.String())
	require.Len(t, got, 25, out.String())
	lost, lowest := 0, 1000
	for _, n := range got {
		assert.LessOrEqual(t, n, 1000, "a racy counter loses updates, it never invents them")
		assert.Positive(t, n)
		if n < 1000 {
			lost++
		}
		lowest = min(lowest, n)
	}
	assert.Contains(t, out.String(), "rounds 21-25:")
	assert.Contains(t, out.String(), "\nrounds that lost updates: "+strconv.Itoa(lost)+" of 25 (lowest count: "+strconv.Itoa(lowest)+" of 1000)\n")
}

// The lesson's proof: go run -race ./01-race names the race, whatever the counts.
func TestRaceDetectorReportsTheCounter(t *testing.T) {
	if !proc.RaceDetector {
		t.Skip("the race detector is off: run go test -race ./...")
	}
	// All 50 rounds: in a round whose goroutines happen to run one after the
	// other, the detector may see no race (3 rounds missed it 3 times in 100).
	cmd, err := proc.Command(t.Context())
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()

	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the child must fail: the race detector exits 66, got %v", err)
	assert.Equal(t, 66, exit.ExitCode())
	assert.Contains(t, stderr.String(), "WARNING: DATA RACE")
	// Both accesses of the race are in Incr: two goroutines on m.count++.
	assert.Regexp(t, `(Read|Write) at 0x[0-9a-f]+ by goroutine \d+:\n  \S+\.\(\*Counter\)\.Incr\(\)`, stderr.String())
	assert.Regexp(t, `Previous write at 0x[0-9a-f]+ by goroutine \d+:\n  \S+\.\(\*Counter\)\.Incr\(\)`, stderr.String())
	assert.Len(t, counts(t, stdout.String()), 50)
}

// Issue 8: every number is checked; a bad one gets the usage and status 2.
func TestBadCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"-goroutines", "-3"}, `invalid value "-3" for flag -goroutines: must be 1 to 100000`},
		{[]string{"-goroutines", "0"}, `invalid value "0" for flag -goroutines: must be 1 to 100000`},
		{[]string{"-goroutines", "1000000"}, `invalid value "1000000" for flag -goroutines: must be 1 to 100000`},
		{[]string{"-rounds", "0"}, `invalid value "0" for flag -rounds: must be 1 to 10000`},
		{[]string{"-rounds", "-1"}, `invalid value "-1" for flag -rounds: must be 1 to 10000`},
		{[]string{"-rounds", "x"}, `invalid value "x" for flag -rounds: not a whole number`},
		{[]string{"-rounds", "3", "now"}, `unexpected argument "now"`},
		{[]string{"-count"}, `flag provided but not defined: -count`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, &stdout, &stderr)
			assert.Equal(t, 2, cli.ExitCode(err, &stderr))
			assert.Contains(t, stderr.String(), tc.says)
			assert.Contains(t, stderr.String(), "Usage of 01-race:")
			assert.Empty(t, stdout.String(), "no count from a bad command line")
		})
	}
	var stderr bytes.Buffer
	assert.Equal(t, 0, cli.ExitCode(run(t.Context(), []string{"-help"}, io.Discard, &stderr), &stderr))
	assert.Contains(t, stderr.String(), "-goroutines")
}
