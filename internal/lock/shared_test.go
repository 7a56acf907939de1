package lock_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshoptest"
)

// Two Mutexes on one session (etcd issue #11360): they share the session's
// key. etcd's Mutex takes the key for its own and both hold the lock; the
// workshop's lock sees that the key holds another Mutex's value and refuses,
// leaving the first Mutex its key and its lock.
func TestTwoMutexesOnOneSession(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()

	t.Run("etcd's Mutex walks in", func(t *testing.T) {
		s := session(t, etcd)
		first, second := concurrency.NewMutex(s, "/etcd-shared"), concurrency.NewMutex(s, "/etcd-shared")
		require.NoError(t, first.Lock(ctx))
		require.NoError(t, second.Lock(ctx), "etcd's Mutex: the second Lock returns at once")
		assert.Equal(t, first.Header().Revision, second.Header().Revision, "both hold it, with one token")
	})

	t.Run("the workshop's lock refuses", func(t *testing.T) {
		s := session(t, etcd)
		first, second := lock.NewMutex(s, "/shared"), lock.NewMutex(s, "/shared")
		require.NoError(t, first.Lock(ctx))
		assert.ErrorIs(t, second.Lock(ctx), lock.ErrSessionShared)
		assert.ErrorIs(t, second.TryLock(ctx), lock.ErrSessionShared)
		assert.EqualError(t, second.Lock(ctx), "lock: session shared with another Mutex: use a session per contender")
		assert.Zero(t, second.Revision(), "the second Mutex holds nothing")

		// The first Mutex still holds its lock, its fence open, its key in place.
		assert.Equal(t, []string{keyOf("/shared", s)}, keys(t, etcd, "/shared"))
		rctx, cancel := etcd.WithTimeout(ctx)
		defer cancel()
		resp, err := etcd.Client.Txn(rctx).If(first.IsOwner()).Commit()
		require.NoError(t, err)
		assert.True(t, resp.Succeeded, "the first Mutex's fence")
		require.NoError(t, first.Unlock(ctx))
		assert.Empty(t, keys(t, etcd, "/shared"))

		// Free again, the key is the second Mutex's to take.
		require.NoError(t, second.TryLock(ctx))
		assert.ErrorIs(t, first.Lock(ctx), lock.ErrSessionShared)
		require.NoError(t, second.Unlock(ctx))
	})

	// The same Mutex locking again keeps its place: Lock and TryLock return at
	// once, holding, with the same token, and one Unlock releases.
	t.Run("the same Mutex twice", func(t *testing.T) {
		s := session(t, etcd)
		m := lock.NewMutex(s, "/again")
		require.NoError(t, m.Lock(ctx))
		token := m.Revision()
		require.NoError(t, m.Lock(ctx))
		require.NoError(t, m.TryLock(ctx))
		assert.Equal(t, token, m.Revision())
		require.NoError(t, m.Unlock(ctx))
		assert.Empty(t, keys(t, etcd, "/again"))
		assert.ErrorIs(t, m.Unlock(ctx), concurrency.ErrLockReleased)
	})
}
