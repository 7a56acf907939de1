package lock

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Lost returns a channel that closes when the held lock is lost or released:
// stop working under the lock when it closes. It is closed at once if this
// Mutex does not hold the lock.
//
// It never closes while the lock is held, and closes at most about a second
// plus the network's delay after the lock is lost (5 s for a client cut off
// in the session's first half second):
//   - at once when etcd deletes the key: Unlock, a delete by anyone, the
//     session's lease revoked, or expired (etcd expires a lease within half a
//     second after its TTL, and deletes its keys then);
//   - when the session ends (Close, Orphan) or its keepalive gives up. A
//     client cut off from etcd hears of no delete: it learns that its lease
//     may have expired only from its keepalive, which gives up TTL after the
//     last answer it got, checked once a second. So Lost can close up to
//     about a second (plus the network's delay) after etcd expired the lease,
//     and another session may hold the lock meanwhile. Before the session's
//     first keepalive has been answered (it is sent within half a second),
//     etcd's client gives it 5 s instead of the TTL: a cut in that first
//     moment is learned up to 5 s late. Fence your writes (IsOwner,
//     Revision) rather than rely on Lost alone.
//
// A compaction or a broken connection is no loss: Lost reads the key again
// and watches anew. Its watch requires a leader, so a member cut off from
// the others does not keep it waiting in silence.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost != nil {
		return m.lost
	}
	m.lost = make(chan struct{})
	if !m.held {
		close(m.lost)
		return m.lost
	}
	// Ends on release, and when the session ends: a Watch call blocks while
	// etcd cannot be reached.
	ctx, cancel := context.WithCancel(m.s.Client().Ctx())
	stop := context.AfterFunc(m.s.Ctx(), cancel)
	m.stop = cancel
	go func(lost chan struct{}, rev int64) {
		defer close(lost)
		defer stop()
		defer cancel()
		for pause := 10 * time.Millisecond; !m.watchLoss(ctx, rev); pause = min(2*pause, time.Second) {
			// The watch failed (compacted, no leader, broken): the lock is not
			// known to be lost. Try again, after a pause.
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return
			}
		}
	}(m.lost, m.rev)
	return m.lost
}

// watchLoss watches the key, created at rev, until it is known to be gone
// (true) or the watch fails (false).
func (m *Mutex) watchLoss(ctx context.Context, rev int64) bool {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	// From the current revision on: a watch from the key's creation would fail
	// once etcd compacts past it.
	wch := m.s.Client().Watch(ctx, m.key, clientv3.WithFilterPut(), clientv3.WithCreatedNotify())
	for {
		select {
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				return ctx.Err() != nil
			}
			if wr.Created {
				// The watch sees every delete from here on; was the key still
				// ours when it started?
				held, err := m.stillHeld(ctx, rev)
				if err != nil {
					return ctx.Err() != nil
				}
				if !held {
					return true
				}
				continue
			}
			if len(wr.Events) > 0 { // deletes only (WithFilterPut)
				return true
			}
		case <-ctx.Done():
			return true
		}
	}
}

// stillHeld reads whether the key is still the one created at rev.
func (m *Mutex) stillHeld(ctx context.Context, rev int64) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // then Lost tries again
	defer cancel()
	resp, err := m.s.Client().Get(ctx, m.key)
	if err != nil {
		return false, err
	}
	return len(resp.Kvs) == 1 && resp.Kvs[0].CreateRevision == rev, nil
}
