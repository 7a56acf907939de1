package main

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
)

// The two locks under test, behind one interface, and the clients' sessions.

const (
	// requestTimeout bounds a read, a write, an Unlock: short, because a
	// request sent to a leader that then crashes gets no answer at all.
	requestTimeout = 2 * time.Second
	failureBackOff = 50 * time.Millisecond
)

// mutex is what a client needs of a lock.
type mutex interface {
	Lock(ctx context.Context) error
	Unlock(ctx context.Context) error
	IsOwner() clientv3.Cmp // a comparison that holds while this session holds the lock
	Token() int64          // the revision at which the lock was acquired: it grows from holder to holder
}

var lockKinds = []string{"mutex", "lock"}

func newMutex(kind string, s *concurrency.Session, name string) mutex {
	if kind == "lock" {
		return workshopLock{lock.NewMutex(s, name)}
	}
	return etcdMutex{concurrency.NewMutex(s, name)}
}

// etcdMutex is etcd's concurrency.Mutex, the article's lock.
type etcdMutex struct{ *concurrency.Mutex }

func (m etcdMutex) Token() int64 { return m.Header().Revision }

// workshopLock is the workshop's own lock (internal/lock, chapter 08).
type workshopLock struct{ *lock.Mutex }

func (m workshopLock) Token() int64 { return m.Revision() }

// startSession makes a new session (a lease, kept alive) and a mutex on it,
// unless the client has one that is still alive: a paused client's session
// expired during the pause.
func (c *client) startSession(ctx context.Context) error {
	if c.session != nil {
		select {
		case <-c.session.Done():
			c.endSession(ctx)
		default:
			return nil
		}
	}
	s, err := c.etcd.NewSession(ctx, c.ttl)
	if err != nil {
		return err
	}
	c.session, c.mutex = s, newMutex(c.kind, s, c.name)
	c.report(event{Client: c.id, Op: opSession, At: time.Now().UnixNano(), Lease: int64(s.Lease())})
	return nil
}

// endSession revokes the session's lease (even after Ctrl-C), which frees
// the lock if this session still holds it.
func (c *client) endSession(ctx context.Context) {
	if c.session != nil {
		c.etcd.CloseSession(ctx, c.session) // an expired lease is gone already: nothing to revoke
		c.session, c.mutex = nil, nil
	}
}

// lockWait bounds one Lock: a paused holder keeps the lock for its TTL.
func (c *client) lockWait() time.Duration {
	return 3*time.Duration(c.ttl)*time.Second + 5*time.Second
}

// backOff waits d, or less if the experiment ends.
func (c *client) backOff(until context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-until.Done():
	}
}

// lockName is an experiment's lock: its keys are name/<lease>.
func lockName(prefix string) string { return prefix + "/lock" }
