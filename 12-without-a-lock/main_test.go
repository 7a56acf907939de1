package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

// The README's run, checked against its blocks, and beyond them: each way,
// at each contention, gives exactly the count (the run fails on any other:
// see round); alone, nobody writes first, so no retry. Without the
// transaction's If (or with STM's ReadCommitted isolation) a retried
// increment is a lost one, and the run fails.
func TestREADME(t *testing.T) {
	t.Parallel()
	out := workshoptest.CheckREADMEs(t, run, workshoptest.R(` +\d+/s \(\d+\)`, " <n>/s (<n>)"))[""]
	for _, w := range ways {
		assert.Regexp(t, regexp.QuoteMeta(w.name+":")+` +count: 100\n`, out)
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(w.name)+` +\d+/s \(0\) `, out, "alone, nobody writes first")
	}
}

// Each way's round leaves in etcd only the counter (no lock key, no lease),
// and the run's last step deletes it: a shared etcd is left as found. (The
// whole run, on the embedded etcd of TestREADME, goes through the same
// rounds, 100 goroutines included.)
func TestEachWayLeavesNothing(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	for _, w := range ways {
		r, err := round(t.Context(), etcd, w, 10)
		require.NoError(t, err, w.name)
		assert.Equal(t, increments, r.count, w.name)
		assert.Equal(t, []string{counterKey}, workshoptest.Keys(t, etcd, "/"), "%s: keys left", w.name)
		assert.Empty(t, workshoptest.Leases(t, etcd), "%s: leases left", w.name)
	}
	require.NoError(t, deleteCounter(t.Context(), etcd))
	assert.Empty(t, workshoptest.Keys(t, etcd, "/"), "the counter left")
}

// Bad command lines: the usage and 2; an etcd that never answers: one line.
func TestExits(t *testing.T) {
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad timeout", Args: []string{"-timeout", "0s"}, Status: 2, Says: "-timeout"},
		workshoptest.Unreachable(t),
	)
}

// Out of time (here behind a lock another program holds): one line that
// names the way, the round and the -timeout, and exit status 1.
func TestOutOfTime(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	workshoptest.HoldLock(t, etcd, "/my-test-lock")
	out, status := workshoptest.Exit(t, "-endpoints", etcd.Endpoints[0], "-namespace", "", "-timeout", "1s")
	assert.Equal(t, 1, status, out)
	_, said, _ := strings.Cut(out, "error: ")
	assert.Equal(t, "the Locker (03), 1 x 100: not done within -timeout 1s; try a longer one\n", said)
}

// A round whose goroutines all run out of time fails with one error, the
// first, not one per goroutine; and their sessions are gone.
func TestRoundFailsWithOneError(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	workshoptest.HoldLock(t, etcd, "/my-test-lock")
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := round(ctx, etcd, ways[0], 10)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotContains(t, err.Error(), "\n", "one error, one line")
	assert.Len(t, workshoptest.Leases(t, etcd), 1, "the holder's lease only")
}
