package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

// The article's program, run once, prints what the article shows: 1000.
func Example() {
	article(os.Stdout, 1000, newStartingLine(1000))
	// Output: 1000
}

// go run ./02-mutex -rounds 3
func Example_rounds() {
	run(context.Background(), []string{"-rounds", "3"}, os.Stdout, os.Stderr)
	// Output:
	// rounds 1-3:    1000  1000  1000
	// count: 1000 in every round, 3 of 3: no update lost
}

func TestREADME(t *testing.T) { workshoptest.CheckREADMEs(t, run) }

// In this process, where go test -race watches Counter: a race in Incr would
// fail the test even in a round that happened to count 1000.
func TestEveryRoundCounts1000(t *testing.T) {
	var stdout bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-rounds", "20"}, &stdout, &bytes.Buffer{}))

	counts := regexp.MustCompile(`(?m)^rounds? \d+(?:-\d+)?:((?: +\d+)+)$`).FindAllStringSubmatch(stdout.String(), -1)
	var cells []string
	for _, m := range counts {
		cells = append(cells, strings.Fields(m[1])...)
	}
	require.Len(t, cells, 20, stdout.String())
	for _, c := range cells {
		assert.Equal(t, "1000", c)
	}
	assert.Contains(t, stdout.String(), "\ncount: 1000 in every round, 20 of 20: no update lost\n")
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
			assert.Contains(t, stderr.String(), "Usage of 02-mutex:")
			assert.Empty(t, stdout.String(), "no count from a bad command line")
		})
	}
}
