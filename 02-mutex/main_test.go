package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshop"
)

func TestMain(m *testing.M) {
	workshop.RunIfChild(run)
	os.Exit(m.Run())
}

// In this process, under go test -race, a race in Counter would fail the test.
func TestEveryRoundCounts1000(t *testing.T) {
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-rounds", "20"}, &stdout, &bytes.Buffer{}))

	counts := workshop.RoundCounts(stdout.String())
	require.Len(t, counts, 20)
	for _, n := range counts {
		assert.Equal(t, 1000, n)
	}
	assert.Contains(t, stdout.String(), "count: 1000 in every one of 20 rounds: no update lost")
}

// The same program as a learner runs it with go run -race: exit 0, no report.
func TestNoRaceReport(t *testing.T) {
	if !workshop.RaceDetector {
		t.Skip("the race detector is off: run go test -race ./...")
	}
	cmd, err := workshop.Command(t.Context(), "-rounds", "3")
	require.NoError(t, err)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.NotContains(t, string(out), "DATA RACE")
	assert.Contains(t, string(out), "no update lost")
}
