// Package lock is the workshop's own etcd lock. It keeps the keys and the
// order of etcd's concurrency.Mutex: one key "<prefix>/<lease id in hex>" per
// session, on the session's lease, and the key with the oldest create
// revision holds the lock. So it shares a prefix with etcd's Mutex and
// `etcdctl lock`, and they exclude each other.
//
// A waiter watches, for deletes, the range of keys from the newest key older
// than its own (its predecessor) to its own key. Lease ids sort in no
// particular order, so the range may hold other waiters' keys too: their
// deletes reach the waiter, which ignores them. One watch delivers both keys'
// deletes in revision order, so a transaction that deletes both (`etcdctl del
// --prefix`) does not hand the lock to a waiter whose own key is gone. When
// its predecessor goes, a waiter holds the lock if that was the only older
// key; otherwise (a waiter ahead gave up) it reads the queue again.
//
// Where it differs from etcd's Mutex:
//
//   - The watch starts at etcd's current revision, so etcd files it as
//     "synced" and sends it a delete as soon as it is applied. etcd's Mutex
//     watches from the revision of its last read, which is never newer than
//     etcd's current one: etcd files that watch as "unsynced" and delivers
//     its events only in a loop that runs every 100 ms (watchResyncPeriod in
//     server/storage/mvcc/watchable_store.go). A watch from "now" could miss
//     a delete made between the read and the watch, so once the watch is in
//     place the waiter reads the queue again if anything at all was written
//     since its read. Waiting costs the put that queues, then one watch and
//     at most two reads for each key ahead that goes, whatever else etcd is
//     doing.
//   - A waiter whose own key goes (its session expired) returns at once with
//     concurrency.ErrSessionExpired, instead of waiting for its predecessor
//     (etcd issue #19597).
//   - Unlock deletes the key only if it is still this Mutex's incarnation of
//     it, so a retried Unlock cannot release a newer holder (etcd issue #22082).
//   - A Lock or TryLock that fails removes its key, also when its context
//     ended or its answer was lost while the key was being put: the put
//     carries a value of its own, and the cleanup deletes the key if it still
//     holds that value. (If etcd cannot be reached for the 5 s the cleanup
//     may take, or applies the put only after the cleanup, the key stays
//     until the session's lease ends, as etcd's Mutex leaves it in all
//     these cases.)
//   - Lost returns a channel that closes when a held lock is lost.
//   - Two Mutexes on one session do not both hold the lock (etcd issue
//     #11360). They share a key, named after the session's lease; etcd's
//     Mutex finds the key already there and walks in. Here the key holds the
//     value its Mutex put, and a Lock or TryLock that finds another value
//     returns ErrSessionShared, leaving the key and the other Mutex's lock
//     as they are. The same Mutex locking again keeps its place: a second
//     Lock while it holds the lock returns at once, and one Unlock releases.
//
// As with etcd's Mutex, IsOwner never matches and Revision and Header report
// no token unless the Mutex holds the lock.
//
// Chapter 08-handoff times it against etcd's Mutex.
package lock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrNotOwner is returned by Unlock when the key is no longer this Mutex's:
// the session expired or someone deleted it while the lock was held.
var ErrNotOwner = errors.New("lock: lost before Unlock (session expired or key deleted)")

// ErrSessionShared is returned by Lock and TryLock when this session's key
// under the prefix belongs to another Mutex: both were made on one session.
var ErrSessionShared = errors.New("lock: session shared with another Mutex: use a session per contender")

// cleanupTimeout bounds what must happen after the caller gave up: learning
// the outcome of a put already on its way, and removing the key again.
var cleanupTimeout = 5 * time.Second

// Mutex is a lock on a prefix, held through a session's lease. Use one Mutex
// from one goroutine; only Lost may be called from others.
type Mutex struct {
	s   *concurrency.Session
	pfx string
	key string // this session's key under the prefix

	mu  sync.Mutex // guards the fields below against Lost
	rev int64      // create revision of key while queued or held; 0 otherwise
	// puts are the values of the keys this Mutex may have in etcd: the one it
	// queued with, and those of puts whose answer was lost (the cleanup may
	// have failed too). A key with any other value is another Mutex's.
	puts map[string]bool
	held bool
	hdr  *pb.ResponseHeader // from the moment the lock was acquired
	lost chan struct{}      // made by Lost
	stop context.CancelFunc // ends Lost's watch
}

// NewMutex returns a Mutex on pfx for session s, like concurrency.NewMutex.
func NewMutex(s *concurrency.Session, pfx string) *Mutex {
	return &Mutex{s: s, pfx: pfx + "/", key: fmt.Sprintf("%s/%x", pfx, s.Lease())}
}

// TryLock takes the lock if it is free, or returns concurrency.ErrLocked
// after removing its own key.
func (m *Mutex) TryLock(ctx context.Context) error {
	next, hdr, err := m.enqueue(ctx)
	if err != nil {
		return err
	}
	if next != nil {
		m.abandon()
		return concurrency.ErrLocked
	}
	m.acquired(hdr)
	return nil
}

// Lock waits until this session holds the lock, ctx ends, or the session
// expires. A Lock that fails removes its key, so it blocks nobody. A Mutex
// that holds the lock already keeps it: Lock returns at once.
func (m *Mutex) Lock(ctx context.Context) error {
	next, hdr, err := m.enqueue(ctx)
	if err != nil {
		return err
	}
	if next != nil {
		hdr, err = m.waitTurn(ctx, next)
	}
	if err == nil {
		err = ctx.Err() // the caller gave up meanwhile: it does not expect the lock
	}
	if err != nil {
		m.abandon()
		return err
	}
	m.acquired(hdr)
	return nil
}

// ahead is what a waiter knows of the keys older than its own.
type ahead struct {
	pred string // the newest of them: the one to watch
	only bool   // pred is the only one
	rev  int64  // the revision at which this was read
}

// enqueue puts this session's key under the prefix (or finds it there) in
// one transaction that also reads the keys ahead of it. It returns nil and
// the header of the transaction if this session holds the lock.
func (m *Mutex) enqueue(ctx context.Context) (*ahead, *pb.ResponseHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	// The put's own value: if its answer is lost, the cleanup can tell a key
	// this call put from one that was there before.
	mine := strconv.FormatUint(rand.Uint64(), 16)
	if m.puts == nil {
		m.puts = map[string]bool{}
	}
	m.puts[mine] = true // from now on, the key may hold it
	// If ctx ended while the put is on its way, etcd might keep the key while
	// we never learn it. So the transaction gets the caller's whole time, and
	// then cleanupTimeout more for its answer.
	tctx, cancel := outlast(ctx, cleanupTimeout)
	defer cancel()
	// A new key is the newest: the two newest keys are ours and our predecessor.
	newest := clientv3.OpGet(m.pfx, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend), clientv3.WithLimit(2))
	resp, err := m.s.Client().Txn(tctx).
		If(clientv3.Compare(clientv3.CreateRevision(m.key), "=", 0)).
		Then(clientv3.OpPut(m.key, mine, clientv3.WithLease(m.s.Lease())), newest).
		Else(clientv3.OpGet(m.key), clientv3.OpGet(m.pfx, clientv3.WithFirstCreate()...)).
		Commit()
	if err != nil {
		// Applied or not, we cannot tell: remove the key if it is this call's.
		m.remove(clientv3.Compare(clientv3.Value(m.key), "=", mine))
		return nil, nil, err
	}
	rev := resp.Header.Revision
	if !resp.Succeeded {
		kv := resp.Responses[0].GetResponseRange().Kvs[0]
		if !m.puts[string(kv.Value)] {
			return nil, nil, ErrSessionShared // not ours: leave it, and the lock, to its Mutex
		}
		rev = kv.CreateRevision // this Mutex's own key, from an earlier Lock: keep its place
		mine = string(kv.Value)
	}
	m.puts = map[string]bool{mine: true} // the key holds mine: any other put is gone
	m.mu.Lock()
	m.rev = rev
	m.mu.Unlock()
	keys := resp.Responses[1].GetResponseRange()
	if !resp.Succeeded {
		if len(keys.Kvs) == 0 || keys.Kvs[0].CreateRevision == rev {
			return nil, resp.Header, nil
		}
		return &ahead{}, nil, nil // waitTurn reads which key is ahead
	}
	// Count has no revision filter here: it counts every key, ours the newest.
	if keys.Count == 1 {
		return nil, resp.Header, nil
	}
	return &ahead{pred: string(keys.Kvs[1].Key), only: keys.Count == 2, rev: rev}, nil, nil
}

// outlast returns a context that ends grace after ctx ends, or when cancelled.
func outlast(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	octx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-octx.Done():
		}
	})
	return octx, func() { stop(); cancel() }
}

// Unlock releases the lock: it deletes the key only if it is still the one
// this Mutex created (same create revision), so a retried Unlock never
// deletes the key of a later Lock by the same session (etcd issue #22082).
// It returns ErrNotOwner if the lock was already lost.
func (m *Mutex) Unlock(ctx context.Context) error {
	if !m.isHeld() {
		return concurrency.ErrLockReleased
	}
	resp, err := m.s.Client().Txn(ctx).If(m.IsOwner()).Then(clientv3.OpDelete(m.key)).Commit()
	if err != nil {
		return err // still ours, maybe: Unlock may be retried safely
	}
	m.release()
	if !resp.Succeeded {
		return ErrNotOwner
	}
	return nil
}

// abandon removes the key of a Lock or TryLock that did not get the lock.
func (m *Mutex) abandon() {
	m.mu.Lock()
	rev := m.rev
	m.mu.Unlock()
	m.remove(clientv3.Compare(clientv3.CreateRevision(m.key), "=", rev))
	m.release()
}

// remove deletes this session's key if cmp holds, within cleanupTimeout,
// even after the caller gave up. If etcd cannot be reached meanwhile, the
// key stays until the session's lease ends.
func (m *Mutex) remove(cmp clientv3.Cmp) {
	ctx, cancel := context.WithTimeout(m.s.Client().Ctx(), cleanupTimeout)
	defer cancel()
	m.s.Client().Txn(ctx).If(cmp).Then(clientv3.OpDelete(m.key)).Commit()
}

func (m *Mutex) acquired(hdr *pb.ResponseHeader) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held, m.hdr, m.lost = true, hdr, nil
}

// release forgets the key and the token, and closes Lost's channel.
func (m *Mutex) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop != nil {
		m.stop() // Lost's goroutine closes its channel
	}
	m.rev, m.held, m.hdr, m.stop = 0, false, nil, nil
}

func (m *Mutex) isHeld() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held
}

// IsOwner is a comparison that holds while this Mutex holds the lock: put it
// in a Txn's If to write only as the owner. Without the lock it compares a
// key and a revision that no key can have (as etcd's Mutex does), so the
// fence stays shut; it does not compare with 0, which means "no such key"
// and would hold exactly when the lock is gone.
func (m *Mutex) IsOwner() clientv3.Cmp {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.held {
		return clientv3.Compare(clientv3.CreateRevision("\x00"), "=", -1)
	}
	return clientv3.Compare(clientv3.CreateRevision(m.key), "=", m.rev)
}

// Key is this session's key under the prefix.
func (m *Mutex) Key() string { return m.key }

// Header is etcd's response header from the moment the lock was acquired,
// or nil if this Mutex does not hold the lock.
func (m *Mutex) Header() *pb.ResponseHeader {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hdr
}

// Revision is the revision at which the lock was acquired. It grows from one
// holder to the next: give it as a fencing token to anything outside etcd.
// It is 0 if this Mutex does not hold the lock.
func (m *Mutex) Revision() int64 {
	if hdr := m.Header(); hdr != nil {
		return hdr.Revision
	}
	return 0
}
