package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

var summary = regexp.MustCompile(`^summary: write_p50=([0-9.]+)ms mutex_handoff_p50=([0-9.]+)ms lock_handoff_p50=([0-9.]+)ms mutex_8=([0-9]+)/s lock_8=([0-9]+)/s$`)

// A short run, side by side on one etcd. The bounds are loose (the race
// detector and a busy machine slow everything); the figures that matter come
// from the full run and the benchmarks.
func TestRunShowsTheHandoffGap(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-rounds", "8", "-writes", "20", "-for", "1s"}, &stdout, &stderr))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	m := summary.FindStringSubmatch(last)
	require.NotNil(t, m, "last line is the summary: %q", last)
	v := make([]float64, len(m))
	for i := 1; i < len(m); i++ {
		v[i], _ = strconv.ParseFloat(m[i], 64)
	}
	write, mutexHandoff, lockHandoff, mutex8, lock8 := v[1], v[2], v[3], v[4], v[5]
	assert.Greater(t, mutexHandoff, 5*lockHandoff, "etcd Mutex's handoff waits for the resync; the lock's does not")
	assert.Positive(t, write)
	// Under -race the lock is CPU-bound while etcd's Mutex waits on a timer,
	// so the gap is far smaller here than in a plain run (about 14x).
	assert.Greater(t, lock8, 1.5*mutex8, "contended throughput")
	for _, want := range []string{"etcd concurrency.Mutex handoff", "workshop lock handoff", "  <= ", "watchResyncPeriod"} {
		assert.Contains(t, stdout.String(), want)
	}
	assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
}

// The handoff measurement itself: every sample is a real handoff, the waiter
// got the lock only after the holder let go.
func TestHandoffsOfBothLocks(t *testing.T) {
	etcd := workshoptest.Etcd(t)
	for name, newLock := range map[string]newLock{"etcd-mutex": etcdMutex, "lock": projectLock} {
		lat, err := handoffs(context.Background(), etcd, newLock, "/test-"+name, 3, time.Millisecond)
		require.NoError(t, err, name)
		assert.Len(t, lat, 3, name)
		for _, d := range lat {
			assert.Greater(t, d, time.Duration(0), name)
		}
	}
}

func TestExitStatus(t *testing.T) {
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-rounds", "many"}, Status: 2, Says: "Usage of 08-handoff"},
		workshoptest.Unreachable(t),
	)
}
