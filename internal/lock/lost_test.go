package lock_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func closesWithin(t *testing.T, ch <-chan struct{}, d time.Duration, msg string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s: Lost still open after %s", msg, d)
	}
}

// Lost closes at once when etcd deletes the key: Unlock, a delete by
// someone else, the session's lease revoked.
func TestLostClosesWhenTheKeyGoes(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		lose func(m *lock.Mutex, s *concurrency.Session) error
	}{
		{"Unlock", func(m *lock.Mutex, _ *concurrency.Session) error { return m.Unlock(ctx) }},
		{"key deleted", func(m *lock.Mutex, _ *concurrency.Session) error {
			_, err := etcd.Client.Delete(ctx, m.Key())
			return err
		}},
		{"lease revoked", func(_ *lock.Mutex, s *concurrency.Session) error {
			_, err := etcd.Client.Revoke(ctx, s.Lease())
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := session(t, etcd)
			m := lock.NewMutex(s, "/lost")
			require.NoError(t, m.Lock(ctx))
			lost := m.Lost()
			assert.False(t, isClosed(lost), "Lost closed while the lock is held")
			require.NoError(t, tc.lose(m, s))
			closesWithin(t, lost, 5*time.Second, tc.name)
		})
	}
}

// Lost of a Mutex that does not hold the lock is closed.
func TestLostIsClosedWithoutTheLock(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	m := lock.NewMutex(session(t, etcd), "/lost-none")
	assert.True(t, isClosed(m.Lost()))
}

// compactAll writes a few unrelated keys, then compacts etcd's history up
// to now: every revision before is gone.
func compactAll(t *testing.T, etcd *workshop.Etcd) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_, err := etcd.Client.Put(ctx, "/unrelated", "x")
		require.NoError(t, err)
	}
	resp, err := etcd.Client.Get(ctx, "/unrelated")
	require.NoError(t, err)
	_, err = etcd.Client.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	require.NoError(t, err)
}

// A compaction is no loss: etcd compacts its history (Kubernetes every 5
// minutes) while a waiter is queued or a holder holds, and the lock stays
// held. Lost must stay open until the lock is released.
func TestLostStaysOpenThroughACompaction(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	compact := func(t *testing.T) { compactAll(t, etcd) }
	for _, tc := range []struct {
		name string
		lock func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string)
	}{
		{"compacted while held", func(t *testing.T, m *lock.Mutex, _ *concurrency.Session, _ string) {
			require.NoError(t, m.Lock(ctx))
			compact(t)
		}},
		{"compacted while queued", func(t *testing.T, m *lock.Mutex, s *concurrency.Session, pfx string) {
			h := lock.NewMutex(session(t, etcd), pfx)
			require.NoError(t, h.Lock(ctx))
			done := make(chan error, 1)
			go func() { done <- m.Lock(ctx) }()
			waitForKey(t, etcd, keyOf(pfx, s))
			compact(t)
			require.NoError(t, h.Unlock(ctx))
			require.NoError(t, <-done)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pfx := "/compact-" + strings.ReplaceAll(tc.name, " ", "-")
			s := session(t, etcd)
			m := lock.NewMutex(s, pfx)
			tc.lock(t, m, s, pfx)
			lost := m.Lost()
			// A watch from a compacted revision fails at etcd's next resync
			// (every 100 ms): ten of them pass here.
			select {
			case <-lost:
				t.Fatal("Lost closed after a compaction, while the lock is held")
			case <-time.After(time.Second):
			}
			require.NoError(t, m.Unlock(ctx))
			closesWithin(t, lost, 5*time.Second, "Unlock")
		})
	}
}

// The connection to etcd breaks while the lock is held, and etcd compacts
// meanwhile: the client's watch resumes from a compacted revision. Lost must
// see that the key is still there, and stay open.
func TestLostStaysOpenWhenItsWatchResumesAfterACompaction(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	r := newRelay(t, strings.TrimPrefix(etcd.Endpoints[0], "http://"))
	c := newSpy(t, etcd, r.URL())
	m := lock.NewMutex(c.session(t, 60), "/compact-resume")
	require.NoError(t, m.Lock(ctx))
	lost := m.Lost()
	select { // Lost's watch is in place (it asks etcd to say so: WithCreatedNotify)
	case <-c.created:
	case <-lost:
		t.Fatal("Lost closed while the lock is held")
	case <-time.After(10 * time.Second):
		t.Fatal("Lost's watch was not created within 10s")
	}
	watches := c.watches.Load()

	r.Cut()
	compactAll(t, etcd)
	r.Restore()

	// Lost reads the key again and watches anew; or, wrongly, closes.
	deadline := time.After(20 * time.Second)
	for c.watches.Load() == watches {
		select {
		case <-lost:
			t.Fatal("Lost closed after its watch was compacted, while the lock is held")
		case <-deadline:
			t.Fatal("Lost never watched again after the connection came back")
		case <-time.After(10 * time.Millisecond):
		}
	}
	c.waitCreated(t, 1, nil)
	assert.False(t, isClosed(lost), "Lost closed while the lock is held")
	require.NoError(t, m.Unlock(ctx))
	closesWithin(t, lost, 5*time.Second, "Unlock")
}

// When the client cannot reach etcd, etcd expires the session's lease and
// deletes the key; the client learns it only when its keepalive gives up:
// TTL after the last answer it got, checked once a second. Lost closes then.
func TestLostClosesWhenTheLeaseExpiresOutOfReach(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	r := newRelay(t, strings.TrimPrefix(etcd.Endpoints[0], "http://"))
	c := newSpy(t, etcd, r.URL())
	const ttl = 1 // seconds: the embedded etcd's minimum
	s := c.session(t, ttl)
	m := lock.NewMutex(s, "/expire-out-of-reach")
	require.NoError(t, m.Lock(ctx))
	lost := m.Lost()
	deleted := etcd.Client.Watch(ctx, m.Key(), clientv3.WithFilterPut())
	// Until the first keepalive is answered, etcd's client gives the lease 5 s,
	// not its TTL (see Lost's doc): cut only once an answer has come.
	kctx, stopKeepalive := context.WithCancel(ctx)
	answers, err := c.Client.KeepAlive(kctx, s.Lease())
	require.NoError(t, err)
	select {
	case <-answers:
	case <-time.After(10 * time.Second):
		t.Fatal("no keepalive answered within 10s")
	}
	stopKeepalive()

	r.Cut()
	start := time.Now()
	var expired time.Duration
	select {
	case <-deleted:
		expired = time.Since(start)
	case <-time.After(10 * time.Second):
		t.Fatal("etcd did not expire the lease within 10s")
	}
	closesWithin(t, lost, 5*time.Second, "lease expired out of reach")
	t.Logf("etcd deleted the key %s after the cut; Lost closed %s after the cut",
		expired.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
