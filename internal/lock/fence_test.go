package lock_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshoptest"
)

// A Mutex that does not hold the lock must keep its fence shut and present no
// token, however it came not to hold it, while another session holds the
// lock: a fenced write (Txn If IsOwner) must not go through, and its
// Revision must not outrank the holder's at a store that checks tokens.
func TestNoFenceNoTokenWithoutTheLock(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// notHolding leaves m not holding the lock on pfx and returns the
		// Mutex that holds it then.
		notHolding func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string) *lock.Mutex
	}{
		{"never locked", func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string) *lock.Mutex {
			h := lock.NewMutex(session(t, etcd), pfx)
			require.NoError(t, h.Lock(ctx))
			return h
		}},
		{"failed TryLock", func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string) *lock.Mutex {
			h := lock.NewMutex(session(t, etcd), pfx)
			require.NoError(t, h.Lock(ctx))
			require.ErrorIs(t, m.TryLock(ctx), concurrency.ErrLocked)
			return h
		}},
		{"failed Lock (context ended while queued)", func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string) *lock.Mutex {
			h := lock.NewMutex(session(t, etcd), pfx)
			require.NoError(t, h.Lock(ctx))
			lctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- m.Lock(lctx) }()
			waitForKey(t, etcd, keyOf(pfx, s))
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			return h
		}},
		{"unlocked, then another session locked", func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string) *lock.Mutex {
			require.NoError(t, m.Lock(ctx))
			require.NoError(t, m.Unlock(ctx))
			h := lock.NewMutex(session(t, etcd), pfx)
			require.NoError(t, h.Lock(ctx))
			return h
		}},
		{"lease revoked while holding, then another session locked", func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string) *lock.Mutex {
			require.NoError(t, m.Lock(ctx))
			rctx, cancel := etcd.WithTimeout(ctx)
			defer cancel()
			_, err := etcd.Client.Revoke(rctx, s.Lease()) // the session expires
			require.NoError(t, err)
			h := lock.NewMutex(session(t, etcd), pfx)
			require.NoError(t, h.Lock(ctx))
			require.ErrorIs(t, m.Unlock(ctx), lock.ErrNotOwner)
			return h
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pfx := "/fence-" + t.Name()
			s := session(t, etcd)
			m := lock.NewMutex(s, pfx)
			holder := tc.notHolding(t, m, s, pfx)

			wctx, cancel := etcd.WithTimeout(ctx)
			defer cancel()
			resp, err := etcd.Client.Txn(wctx).If(m.IsOwner()).Then(clientv3.OpPut("/fenced", "stale")).Commit()
			require.NoError(t, err)
			assert.False(t, resp.Succeeded, "a fenced write went through while another session holds the lock")

			assert.Zero(t, m.Revision(), "a token without the lock")
			assert.Nil(t, m.Header(), "a header without the lock")
			assert.Less(t, m.Revision(), holder.Revision(), "the holder's token must outrank this one")
			assert.Positive(t, holder.Revision())

			resp, err = etcd.Client.Txn(wctx).If(holder.IsOwner()).Then(clientv3.OpPut("/fenced", "fresh")).Commit()
			require.NoError(t, err)
			assert.True(t, resp.Succeeded, "the holder's fenced write")
		})
	}
}
