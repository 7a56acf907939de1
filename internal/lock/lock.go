// Package lock is the workshop's own etcd lock. It keeps the key layout and
// the order of etcd's concurrency.Mutex (a key "<prefix>/<lease id in hex>"
// per session, the oldest create revision holds the lock, each waiter watches
// only the key just before its own), so it shares a prefix with etcd's Mutex
// and `etcdctl lock`. It differs where etcd's Mutex is slow or unsafe:
//
//   - A waiter watches its predecessor from the revision after the one it
//     read. etcd's Mutex watches from the revision it read: etcd then files
//     the watch as "unsynced" and delivers the delete only at its next resync,
//     every 100 ms (watchResyncPeriod in server/storage/mvcc/watchable_store.go).
//   - A waiter whose own key goes (its session expired) returns at once with
//     concurrency.ErrSessionExpired, instead of waiting for its predecessor
//     (etcd issue #19597).
//   - Unlock deletes the key only if it is still this Mutex's incarnation of
//     it, so a retried Unlock cannot release a newer holder (etcd issue #22082).
//   - A Lock whose context ends while its key is being put removes the key.
//   - Lost returns a channel that closes when a held lock is lost.
//
// Chapter 08-handoff times it against etcd's Mutex.
package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrNotOwner is returned by Unlock when the key is no longer this Mutex's:
// the session expired or someone deleted it while the lock was held.
var ErrNotOwner = errors.New("lock: lost before Unlock (session expired or key deleted)")

// cleanupTimeout bounds the requests that must finish even when the Lock's
// context has ended: putting the key in the queue, and taking it out again.
const cleanupTimeout = 5 * time.Second

// Mutex is a lock on a prefix, held through a session's lease. Use one Mutex
// from one goroutine; only Lost may be called from others.
type Mutex struct {
	s   *concurrency.Session
	pfx string

	mu    sync.Mutex // guards the fields below against Lost
	myKey string
	myRev int64 // create revision of myKey; 0 when not locked
	hdr   *pb.ResponseHeader
	lost  chan struct{} // made by Lost
	stop  context.CancelFunc
}

// NewMutex returns a Mutex on pfx for session s, like concurrency.NewMutex.
func NewMutex(s *concurrency.Session, pfx string) *Mutex {
	return &Mutex{s: s, pfx: pfx + "/"}
}

// TryLock takes the lock if it is free, or returns concurrency.ErrLocked
// after removing its own key.
func (m *Mutex) TryLock(ctx context.Context) error {
	next, err := m.enqueue(ctx)
	if err != nil || next == nil {
		return err
	}
	m.cleanup()
	return concurrency.ErrLocked
}

// Lock waits until this session holds the lock, ctx ends, or the session
// expires. A Lock that fails removes its key, so it blocks nobody.
func (m *Mutex) Lock(ctx context.Context) error {
	next, err := m.enqueue(ctx)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil { // ended while we queued
		m.cleanup()
		return err
	}
	if next == nil {
		return nil
	}
	if err := m.waitTurn(ctx, next); err != nil {
		m.cleanup()
		return err
	}
	return nil
}

// ahead is what a waiter knows of the keys older than its own, at a revision.
type ahead struct {
	key   string // the newest of them: the one to watch ("" if not known yet)
	count int64  // how many there are
	rev   int64
}

// enqueue puts this session's key under the prefix (or finds it there), in
// one transaction that also reads the keys ahead of it. It returns nil if
// this session holds the lock.
//
// The transaction does not end with ctx: if ctx ended while the put was on
// its way, etcd might keep the key while we never learn it, and that key
// would block every later waiter until the session ends (etcd's Mutex has
// this flaw). So it gets its own deadline, and Lock removes the key if ctx
// has ended meanwhile.
func (m *Mutex) enqueue(ctx context.Context) (*ahead, error) {
	key := fmt.Sprintf("%s%x", m.pfx, m.s.Lease())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	// A new key is the newest: the two newest keys are ours and the one to watch.
	newest := clientv3.OpGet(m.pfx, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend), clientv3.WithLimit(2))
	resp, err := m.s.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, "", clientv3.WithLease(m.s.Lease())), newest).
		Else(clientv3.OpGet(key), clientv3.OpGet(m.pfx, clientv3.WithFirstCreate()...)).
		Commit()
	if err != nil {
		return nil, err
	}
	rev := resp.Header.Revision
	if !resp.Succeeded { // this session's key was already there: keep its place
		rev = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	m.mu.Lock()
	m.myKey, m.myRev, m.hdr, m.lost = key, rev, resp.Header, nil
	m.mu.Unlock()
	keys := resp.Responses[1].GetResponseRange()
	if !resp.Succeeded {
		if len(keys.Kvs) == 0 || keys.Kvs[0].CreateRevision == rev {
			return nil, nil
		}
		return &ahead{}, nil // waitTurn reads which key is ahead
	}
	if keys.Count == 1 {
		return nil, nil // ours is the only key
	}
	return &ahead{key: string(keys.Kvs[1].Key), count: keys.Count - 1, rev: rev}, nil
}

// waitTurn waits until no key older than this session's remains.
func (m *Mutex) waitTurn(ctx context.Context, next *ahead) error {
	for {
		if next.key == "" {
			// The newest key older than ours (and how many there are), read
			// only while ours is still ours.
			resp, err := m.s.Client().Txn(ctx).If(m.IsOwner()).
				Then(clientv3.OpGet(m.pfx, append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(m.myRev-1))...)).
				Commit()
			if err != nil {
				return err
			}
			if !resp.Succeeded {
				return concurrency.ErrSessionExpired
			}
			older := resp.Responses[0].GetResponseRange()
			if len(older.Kvs) == 0 {
				m.setHeader(resp.Header)
				return nil
			}
			next = &ahead{key: string(older.Kvs[0].Key), count: older.Count, rev: resp.Header.Revision}
		}
		hdr, err := m.waitDelete(ctx, next.key, next.rev)
		if err != nil {
			return err
		}
		// Our predecessor was the only older key: no key can become older
		// than ours, so its delete hands us the lock. Otherwise read again.
		if hdr != nil && next.count == 1 {
			m.setHeader(hdr)
			return nil
		}
		next = &ahead{}
	}
}

// waitDelete waits until pred, which existed at revision rev, is deleted, and
// returns the header of that event; or returns nil if etcd moved past rev
// before the watch was in place (the caller then reads again). If this
// session's own key goes first, the session has expired: it stops waiting
// at once (etcd issue #19597).
func (m *Mutex) waitDelete(ctx context.Context, pred string, rev int64) (*pb.ResponseHeader, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One watch on the range from one key to the other sees both deletes in
	// revision order (the deletes of other keys in between are ignored).
	from, to := min(pred, m.myKey), max(pred, m.myKey)
	// rev + 1: the keys existed at rev, so their deletes have later revisions
	// and cannot be missed. A watch that starts after etcd's current revision
	// is "synced" and gets a delete at once; etcd's Mutex watches from rev,
	// which etcd first has to catch up on in its resync loop, every 100 ms.
	wch := m.s.Client().Watch(ctx, from, clientv3.WithRange(to+"\x00"), clientv3.WithRev(rev+1),
		clientv3.WithFilterPut(), clientv3.WithCreatedNotify())
	for {
		select {
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				return nil, watchErr(ctx, wr)
			}
			if wr.Created && wr.Header.Revision > rev {
				// Something was written between our read and the watch, so the
				// watch may be behind (unsynced): read again rather than wait
				// for the resync.
				return nil, nil
			}
			// Deletes only (WithFilterPut). Our own key first: one transaction
			// (etcdctl del --prefix) can delete it together with pred, and then
			// the lock is not ours.
			deletedPred := false
			for _, ev := range wr.Events {
				switch string(ev.Kv.Key) {
				case m.myKey:
					return nil, concurrency.ErrSessionExpired
				case pred:
					deletedPred = true
				}
			}
			if deletedPred {
				return wr.Header, nil
			}
		case <-m.s.Done():
			return nil, concurrency.ErrSessionExpired
		}
	}
}

func (m *Mutex) setHeader(hdr *pb.ResponseHeader) {
	m.mu.Lock()
	m.hdr = hdr // the acquiring revision: the fencing token
	m.mu.Unlock()
}

func watchErr(ctx context.Context, wr clientv3.WatchResponse) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := wr.Err(); err != nil {
		return err
	}
	return errors.New("lock: watch closed")
}

// Unlock releases the lock: it deletes the key only if it is still the one
// this Mutex created (same create revision), so a retried Unlock never
// deletes the key of a later Lock by the same session (etcd issue #22082).
// It returns ErrNotOwner if the lock was already lost.
func (m *Mutex) Unlock(ctx context.Context) error {
	if m.myRev == 0 {
		return concurrency.ErrLockReleased
	}
	resp, err := m.s.Client().Txn(ctx).If(m.IsOwner()).Then(clientv3.OpDelete(m.myKey)).Commit()
	if err != nil {
		return err // still ours, maybe: Unlock may be retried safely
	}
	m.release()
	if !resp.Succeeded {
		return ErrNotOwner
	}
	return nil
}

// cleanup removes the key of a Lock or TryLock that did not get the lock.
func (m *Mutex) cleanup() {
	ctx, cancel := context.WithTimeout(m.s.Client().Ctx(), cleanupTimeout)
	defer cancel()
	m.s.Client().Txn(ctx).If(m.IsOwner()).Then(clientv3.OpDelete(m.myKey)).Commit()
	m.release()
}

// release forgets the key and closes Lost's channel.
func (m *Mutex) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop != nil {
		m.stop() // Lost's goroutine closes its channel
	}
	m.myRev, m.stop = 0, nil
}

// Lost returns a channel that closes when the held lock is lost (the
// session expired, or the key was deleted) or released by Unlock: stop
// working under the lock when it closes. It starts watching on first call.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost != nil {
		return m.lost
	}
	m.lost = make(chan struct{})
	if m.myRev == 0 {
		close(m.lost) // not held
		return m.lost
	}
	ctx, cancel := context.WithCancel(m.s.Client().Ctx())
	m.stop = cancel
	// From our key's creation + 1: every delete of this key since it was put is
	// seen, even one that came before Lock returned.
	wch := m.s.Client().Watch(ctx, m.myKey, clientv3.WithRev(m.myRev+1), clientv3.WithFilterPut())
	go func(lost chan struct{}) {
		defer close(lost)
		defer cancel()
		for {
			select {
			case wr, ok := <-wch:
				if !ok || wr.Err() != nil || hasDelete(wr.Events) {
					return // lost, released, or no longer known to be held
				}
			case <-m.s.Done():
				return
			}
		}
	}(m.lost)
	return m.lost
}

func hasDelete(evs []*clientv3.Event) bool {
	for _, ev := range evs {
		if ev.Type == mvccpb.DELETE {
			return true
		}
	}
	return false
}

// IsOwner is a comparison that holds while this Mutex holds the lock: put it
// in a Txn's If to write only as the owner.
func (m *Mutex) IsOwner() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(m.myKey), "=", m.myRev)
}

// Key is this session's key under the prefix.
func (m *Mutex) Key() string { return m.myKey }

// Header is etcd's response header from the moment the lock was acquired.
func (m *Mutex) Header() *pb.ResponseHeader { return m.hdr }

// Revision is the revision at which the lock was acquired. It grows from one
// holder to the next: give it as a fencing token to anything outside etcd.
// It is 0 before the first Lock.
func (m *Mutex) Revision() int64 {
	if m.hdr == nil {
		return 0
	}
	return m.hdr.Revision
}
