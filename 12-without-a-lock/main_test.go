package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run, workshoptest.R(` +\d+/s \(\d+\)`, " <n>/s (<n>)"))
}

// Each way, at each contention, gives exactly the count: the lock by
// mutual exclusion, the transaction and STM by refusing a write whose read
// is stale and starting again. Without its If (or with STM's ReadCommitted
// isolation) a retried increment is a lost one, and the count falls short.
func TestEachWayCounts(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, w := range ways {
		for _, n := range levels {
			t.Run(fmt.Sprintf("%s/%d", w.name, n), func(t *testing.T) {
				r, err := round(ctx, etcd, w, n)
				require.NoError(t, err)
				assert.Equal(t, increments, r.count)
				if n == 1 {
					assert.Zero(t, r.retries, "alone, nobody writes first")
				}
			})
		}
	}
	assert.Empty(t, workshoptest.Keys(t, etcd, "/my-test-lock/"), "lock keys left behind")
	assert.Empty(t, workshoptest.Leases(t, etcd), "leases left behind")
}

// A run leaves the etcd as it found it: no counter, no lock key, no lease.
func TestNothingLeftBehind(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	out, status := workshoptest.Exit(t, "-endpoints", etcd.Endpoints[0], "-namespace", "")
	require.Equal(t, 0, status, out)
	assert.Contains(t, out, "STM (serializable):                count: 100")
	assert.Empty(t, workshoptest.Keys(t, etcd, "/"), "keys left behind")
	assert.Empty(t, workshoptest.Leases(t, etcd), "leases left behind")
}

// Bad command lines: the usage and 2; an etcd that never answers: one line.
func TestExits(t *testing.T) {
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad timeout", Args: []string{"-timeout", "0s"}, Status: 2, Says: "-timeout"},
		workshoptest.Unreachable(t),
	)
}
