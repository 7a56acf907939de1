package lock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

// locker is what the project lock and etcd's Mutex both offer.
type locker interface {
	Lock(context.Context) error
	Unlock(context.Context) error
	Header() *pb.ResponseHeader
}

func session(t *testing.T, etcd *workshop.Etcd) *concurrency.Session {
	t.Helper()
	s, err := etcd.NewSession(context.Background(), 60)
	require.NoError(t, err)
	t.Cleanup(func() { etcd.CloseSession(context.Background(), s) })
	return s
}

func keys(t *testing.T, etcd *workshop.Etcd, pfx string) []string {
	t.Helper()
	ctx, cancel := etcd.WithTimeout(context.Background())
	defer cancel()
	resp, err := etcd.Client.Get(ctx, pfx+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var ks []string
	for _, kv := range resp.Kvs {
		ks = append(ks, string(kv.Key))
	}
	return ks
}

// waitForKey returns once key exists (the waiter has queued).
func waitForKey(t *testing.T, etcd *workshop.Etcd, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := etcd.Client.Get(ctx, key)
	require.NoError(t, err)
	if len(resp.Kvs) > 0 {
		return
	}
	// From the read on: a put made since is seen.
	for wr := range etcd.Client.Watch(ctx, key, clientv3.WithRev(resp.Header.Revision+1)) {
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypePut {
				return
			}
		}
	}
	t.Fatalf("key %s never appeared", key)
}

func keyOf(pfx string, s *concurrency.Session) string { return fmt.Sprintf("%s/%x", pfx, s.Lease()) }

func TestTryLockReturnsErrLockedWhenHeld(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	for _, holder := range []struct {
		name string
		lock func(*concurrency.Session) locker
	}{
		{"held by lock.Mutex", func(s *concurrency.Session) locker { return lock.NewMutex(s, "/try") }},
		{"held by etcd's Mutex", func(s *concurrency.Session) locker { return concurrency.NewMutex(s, "/try") }},
	} {
		t.Run(holder.name, func(t *testing.T) {
			h := holder.lock(session(t, etcd))
			require.NoError(t, h.Lock(ctx))
			m := lock.NewMutex(session(t, etcd), "/try")
			assert.ErrorIs(t, m.TryLock(ctx), concurrency.ErrLocked)
			assert.Len(t, keys(t, etcd, "/try"), 1, "TryLock removed its own key")
			require.NoError(t, h.Unlock(ctx))
			assert.NoError(t, m.TryLock(ctx))
			assert.NoError(t, m.Unlock(ctx))
		})
	}
}

// No two holders at once over many rounds, with the project lock alone and
// mixed with etcd's Mutex (and etcdctl lock, when it builds) on one prefix,
// while other waiters give up (their contexts end) and come back. The
// critical section is a directory that only one process at a time may create.
func TestMutualExclusion(t *testing.T) {
	t.Parallel()
	etcdctl := etcdctlBinary(t)
	for _, tc := range []struct {
		name                     string
		locks, mutexes, etcdctls int
	}{
		{"lock only", 6, 0, 0},
		{"mixed with etcd Mutex and etcdctl lock", 3, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			etcd := workshoptest.Etcd(t)
			ctx := context.Background()
			inside := filepath.Join(t.TempDir(), "inside")
			const pfx, rounds = "/mutex", 10
			var (
				mu     sync.Mutex
				tokens []int64 // fencing tokens, in the order the holders held the lock
				held   atomic.Int32
			)
			critical := func(token int64) error {
				if err := os.Mkdir(inside, 0o755); err != nil {
					return fmt.Errorf("two holders at once: %w", err)
				}
				mu.Lock()
				tokens = append(tokens, token)
				mu.Unlock()
				held.Add(1)
				time.Sleep(time.Millisecond) // widen the window a second holder would need
				return os.Remove(inside)
			}

			var wg sync.WaitGroup
			errs := make(chan error, 100)
			worker := func(newLock func(*concurrency.Session) locker) {
				s := session(t, etcd)
				wg.Add(1)
				go func() {
					defer wg.Done()
					m := newLock(s)
					for i := 0; i < rounds; i++ {
						lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
						err := m.Lock(lctx)
						cancel()
						if err != nil {
							errs <- err
							return
						}
						if err := critical(m.Header().Revision); err != nil {
							errs <- err
						}
						if err := m.Unlock(ctx); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			for i := 0; i < tc.locks; i++ {
				worker(func(s *concurrency.Session) locker { return lock.NewMutex(s, pfx) })
			}
			for i := 0; i < tc.mutexes; i++ {
				worker(func(s *concurrency.Session) locker { return concurrency.NewMutex(s, pfx) })
			}
			// Waiters that give up: their Lock's context ends while they wait.
			var gaveUp atomic.Int32
			for i := 0; i < 2; i++ {
				s := session(t, etcd)
				wg.Add(1)
				go func() {
					defer wg.Done()
					m := lock.NewMutex(s, pfx)
					for i := 0; i < rounds; i++ {
						lctx, cancel := context.WithTimeout(ctx, time.Duration(1+i%3)*time.Millisecond)
						err := m.Lock(lctx)
						cancel()
						switch {
						case errors.Is(err, context.DeadlineExceeded):
							gaveUp.Add(1)
						case err != nil:
							errs <- err
							return
						default:
							if err := critical(m.Header().Revision); err != nil {
								errs <- err
							}
							if err := m.Unlock(ctx); err != nil {
								errs <- err
								return
							}
						}
					}
				}()
			}
			// A holder whose session expires while it holds the lock: it stops
			// work (leaves the directory), then its lease goes, not Unlock.
			var expired atomic.Int32
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < rounds/3; i++ {
					s, err := etcd.NewSession(ctx, 60)
					if err != nil {
						errs <- err
						return
					}
					m := lock.NewMutex(s, pfx)
					lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					err = m.Lock(lctx)
					cancel()
					if err != nil {
						errs <- err
						return
					}
					lost := m.Lost()
					if err := critical(m.Header().Revision); err != nil {
						errs <- err
					}
					rctx, cancel := etcd.WithTimeout(ctx)
					_, err = etcd.Client.Revoke(rctx, s.Lease())
					cancel()
					s.Orphan()
					if err != nil {
						errs <- err
						return
					}
					<-lost
					if err := m.Unlock(ctx); !errors.Is(err, lock.ErrNotOwner) {
						errs <- fmt.Errorf("Unlock after the session expired: %v, want ErrNotOwner", err)
					}
					expired.Add(1)
				}
			}()
			if tc.etcdctls > 0 && etcdctl == "" {
				t.Log("etcdctl not available: mixing etcd's Mutex only")
			}
			var etcdctlRounds atomic.Int32
			for i := 0; etcdctl != "" && i < tc.etcdctls; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < rounds/3; i++ {
						// etcdctl lock runs the command while it holds the lock.
						cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
						out, err := exec.CommandContext(cctx, etcdctl, "--endpoints", etcd.Endpoints[0], "lock", pfx, "--",
							"sh", "-c", `mkdir "$0" && sleep 0.001 && rmdir "$0"`, inside).CombinedOutput()
						cancel()
						if err != nil {
							errs <- fmt.Errorf("etcdctl lock (two holders at once?): %v: %s", err, out)
							return
						}
						etcdctlRounds.Add(1)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				assert.NoError(t, err)
			}
			assert.GreaterOrEqual(t, int(held.Load()), (tc.locks+tc.mutexes)*rounds+rounds/3, "every worker held the lock every round")
			assert.Equal(t, int32(rounds/3), expired.Load(), "holders whose session expired")
			assert.Empty(t, keys(t, etcd, pfx), "no key left behind, not even by the waiters that gave up")
			for i := 1; i < len(tokens); i++ {
				assert.Greater(t, tokens[i], tokens[i-1], "fencing tokens grow from one holder to the next")
			}
			t.Logf("%d holds, %d by etcdctl, %d Locks gave up", held.Load(), etcdctlRounds.Load(), gaveUp.Load())
		})
	}
}

// etcdctlBinary builds etcdctl (a go tool of this module) or returns "" if it
// cannot, so the test still runs without it.
func etcdctlBinary(t *testing.T) string {
	if _, err := exec.LookPath("sh"); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "tool", "-n", "etcdctl").Output()
	if err != nil {
		t.Logf("go tool -n etcdctl: %v", err)
		return ""
	}
	return strings.TrimSpace(string(out))
}

func TestCancelledLockRemovesItsKey(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	holder := lock.NewMutex(session(t, etcd), "/cancel")
	require.NoError(t, holder.Lock(context.Background()))

	s := session(t, etcd)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lock.NewMutex(s, "/cancel").Lock(ctx) }()
	waitForKey(t, etcd, keyOf("/cancel", s))
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, []string{holder.Key()}, keys(t, etcd, "/cancel"), "only the holder's key is left")
}

// etcd issue #19597: a waiter whose session expires keeps waiting for its
// predecessor in etcd's Mutex; the project lock returns at once.
func TestWaiterWhoseSessionExpiresReturnsPromptly(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	for _, tc := range []struct {
		name     string
		newLock  func(*concurrency.Session) locker
		promptly bool
	}{
		{"lock.Mutex", func(s *concurrency.Session) locker { return lock.NewMutex(s, "/expire-lock") }, true},
		{"etcd's Mutex", func(s *concurrency.Session) locker { return concurrency.NewMutex(s, "/expire-mutex") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			holder := tc.newLock(session(t, etcd))
			require.NoError(t, holder.Lock(context.Background()))
			s := session(t, etcd)
			waiter := tc.newLock(s)
			done := make(chan error, 1)
			go func() { done <- waiter.Lock(context.Background()) }()
			pfx := "/expire-lock"
			if !tc.promptly {
				pfx = "/expire-mutex"
			}
			waitForKey(t, etcd, keyOf(pfx, s))
			ctx, cancel := etcd.WithTimeout(context.Background())
			defer cancel()
			_, err := etcd.Client.Revoke(ctx, s.Lease()) // the waiter's session expires
			require.NoError(t, err)

			select {
			case err := <-done:
				assert.True(t, tc.promptly, "etcd's Mutex returned while its predecessor still held the lock")
				assert.ErrorIs(t, err, concurrency.ErrSessionExpired)
			case <-time.After(2 * time.Second):
				assert.False(t, tc.promptly, "still waiting 2s after its session expired")
				require.NoError(t, holder.Unlock(context.Background()))
				assert.ErrorIs(t, <-done, concurrency.ErrSessionExpired, "after the holder let go")
			}
		})
	}
}

// etcd issue #22082: an Unlock retried after its delete went through (but
// its answer was lost) must not release a later Lock by the same session.
func TestRetriedUnlockSparesNewerHolder(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		newLock func(*concurrency.Session, string) locker
		spared  bool
	}{
		{"lock.Mutex", func(s *concurrency.Session, p string) locker { return lock.NewMutex(s, p) }, true},
		{"etcd's Mutex", func(s *concurrency.Session, p string) locker { return concurrency.NewMutex(s, p) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := session(t, etcd)
			pfx := "/retry-" + strings.ReplaceAll(tc.name, " ", "")
			first := tc.newLock(s, pfx)
			require.NoError(t, first.Lock(ctx))
			// The first Unlock's delete commits, but its answer is lost: the
			// Mutex still thinks it holds the key.
			_, err := etcd.Client.Delete(ctx, keyOf(pfx, s))
			require.NoError(t, err)
			second := tc.newLock(s, pfx)
			require.NoError(t, second.Lock(ctx))

			retry := first.Unlock(ctx) // the retry
			if tc.spared {
				assert.ErrorIs(t, retry, lock.ErrNotOwner)
				assert.Equal(t, []string{keyOf(pfx, s)}, keys(t, etcd, pfx), "the second Lock's key survives the retry")
			} else {
				assert.Empty(t, keys(t, etcd, pfx), "etcd's Mutex deletes the second Lock's key (issue #22082)")
			}
		})
	}
}

// One transaction deletes the holder's key and the waiter's together (as
// `etcdctl del --prefix` does): the waiter must not take the lock, since its
// own key, its place in the queue, is gone too.
func TestWaiterWhoseKeyIsDeletedWithItsPredecessorDoesNotLock(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	holder := lock.NewMutex(session(t, etcd), "/wipe") // the older lease: its key sorts, and is deleted, first
	require.NoError(t, holder.Lock(context.Background()))

	s := session(t, etcd)
	done := make(chan error, 1)
	go func() { done <- lock.NewMutex(s, "/wipe").Lock(context.Background()) }()
	waitForKey(t, etcd, keyOf("/wipe", s))

	ctx, cancel := etcd.WithTimeout(context.Background())
	defer cancel()
	_, err := etcd.Client.Delete(ctx, "/wipe/", clientv3.WithPrefix())
	require.NoError(t, err)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, concurrency.ErrSessionExpired)
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter neither took the lock nor gave up")
	}
}
