package lock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshoptest"
)

// etcd applies the put of a Lock, but its answer is lost (a reset
// connection, a leader change, a timeout): the Lock fails, and its key must
// not stay behind, or it would block every later Lock until the session ends.
func TestLockWhoseAnswerIsLostRemovesItsKey(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		holder bool // someone holds the lock: the Lock queues behind it
	}{{"free lock", false}, {"held lock", true}} {
		t.Run(tc.name, func(t *testing.T) {
			pfx := "/lost-answer-" + t.Name()
			var holder *lock.Mutex
			if tc.holder {
				holder = lock.NewMutex(session(t, etcd), pfx)
				require.NoError(t, holder.Lock(ctx))
			}
			c := newSpy(t, etcd, etcd.Endpoints[0])
			m := lock.NewMutex(c.session(t, 60), pfx)
			c.loseAnswer.Store(true)
			assert.ErrorIs(t, m.Lock(ctx), rpctypes.ErrTimeout)
			assert.False(t, c.loseAnswer.Load(), "the put was sent, and its answer lost")

			if holder != nil {
				assert.Equal(t, []string{holder.Key()}, keys(t, etcd, pfx), "only the holder's key is left")
				require.NoError(t, holder.Unlock(ctx))
			} else {
				assert.Empty(t, keys(t, etcd, pfx), "the failed Lock's key is gone")
			}
			other := lock.NewMutex(session(t, etcd), pfx)
			assert.NoError(t, other.TryLock(ctx), "the lock is free for another session")
		})
	}
}

// A Lock whose answer was lost, and whose cleanup could not reach etcd
// either, leaves its key: the same Mutex's next Lock knows the key's value
// as one of its own, and keeps its place instead of refusing it as another
// Mutex's (ErrSessionShared would last until the session ends).
func TestLockAfterAFailedCleanupKeepsItsKey(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	c := newSpy(t, etcd, etcd.Endpoints[0])
	s := c.session(t, 60)
	m := lock.NewMutex(s, "/failed-cleanup")
	c.loseAnswer.Store(true)
	c.failTxns.Store(1) // the cleanup's
	assert.ErrorIs(t, m.Lock(ctx), rpctypes.ErrTimeout)
	require.Equal(t, []string{keyOf("/failed-cleanup", s)}, keys(t, etcd, "/failed-cleanup"), "the key stayed")

	require.NoError(t, m.Lock(ctx), "its own key, from the failed Lock")
	require.NoError(t, m.Unlock(ctx))
	assert.Empty(t, keys(t, etcd, "/failed-cleanup"))
}

// The caller's deadline, not the cleanup's timeout, bounds how long a Lock
// may take to put its key: during a slow election a Lock given 30 s must not
// give up after 5.
//
// Not parallel: it sets cleanupTimeout for the package, and runs before the parallel tests.
func TestLockTakesTheCallersWholeDeadline(t *testing.T) {
	etcd := workshoptest.Etcd(t)
	defer lock.SetCleanupTimeout(100 * time.Millisecond)()
	c := newSpy(t, etcd, etcd.Endpoints[0])
	m := lock.NewMutex(c.session(t, 60), "/deadline")
	c.delayNextTxn.Store(int64(500 * time.Millisecond)) // the put takes longer than cleanupTimeout

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, m.Lock(ctx))
	assert.NoError(t, m.Unlock(ctx))
}

// A Lock whose context ends while its put is on its way waits (up to the
// cleanup's timeout) for the answer, so that it knows to remove the key.
func TestLockCancelledWhilePuttingRemovesItsKey(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	c := newSpy(t, etcd, etcd.Endpoints[0])
	m := lock.NewMutex(c.session(t, 60), "/cancel-put")
	c.delayNextTxn.Store(int64(300 * time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, m.Lock(ctx), context.DeadlineExceeded)
	assert.Empty(t, keys(t, etcd, "/cancel-put"), "the key put after the caller gave up is gone")
}
