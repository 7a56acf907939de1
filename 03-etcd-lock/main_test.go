package main

import (
	"bytes"
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

func TestCount100(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), nil, &stdout, &stderr))
	assert.Equal(t, "count: 100\n", stdout.String())
	assert.Contains(t, stderr.String(), "etcd: embedded etcd 3.7.3 at http://127.0.0.1:")
	assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
}

// The count alone could be right by luck: watch the critical section itself.
func TestNoTwoHoldersAtOnce(t *testing.T) {
	etcd := workshoptest.Etcd(t)
	var inside, most atomic.Int32
	count, err := countWithLock(context.Background(), etcd, 30, func(c *Counter) {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(2 * time.Millisecond) // widen the window a second holder would need
		runtime.Gosched()
		c.Incr()
		inside.Add(-1)
	})
	require.NoError(t, err)
	assert.Equal(t, 30, count)
	assert.Equal(t, int32(1), most.Load(), "holders inside the critical section at once")
}

// As a learner meets them: a clean run exits 0 with no log noise, bad flags
// exit 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "embedded etcd", Args: []string{"-goroutines", "3"}, Status: 0, Says: "count: 3"},
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-goroutines", "many"}, Status: 2, Says: "Usage of 03-etcd-lock"},
		workshoptest.Unreachable(t),
	)
}
