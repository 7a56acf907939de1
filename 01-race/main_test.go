package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshop"
)

func TestMain(m *testing.M) {
	workshop.RunIfChild(run)
	os.Exit(m.Run())
}

// The racy counter cannot run in this test process under -race (the detector
// would fail the test), so it runs in a child: this test binary, re-executed.
func TestRaceDetectorReportsTheCounter(t *testing.T) {
	if !workshop.RaceDetector {
		t.Skip("the race detector is off: run go test -race ./...")
	}
	cmd, err := workshop.Command(t.Context(), "-rounds", "3")
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()

	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the child must fail: the race detector exits 66, got %v", err)
	assert.Equal(t, 66, exit.ExitCode())
	assert.Contains(t, stderr.String(), "WARNING: DATA RACE")
	assert.Contains(t, stderr.String(), "(*Counter).Incr", "the race is on the counter")

	counts := workshop.RoundCounts(stdout.String())
	require.Len(t, counts, 3)
	for _, n := range counts {
		assert.LessOrEqual(t, n, 1000, "a racy counter can lose updates, never invent them")
		assert.Positive(t, n)
	}
}

func TestBadFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-rounds=x"}, &bytes.Buffer{}, &stderr)
	assert.Equal(t, 2, workshop.ExitCode(err, &stderr))
	assert.Contains(t, stderr.String(), "Usage of 01-race")
}
