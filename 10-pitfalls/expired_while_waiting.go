package main

// Pitfall expired-while-waiting (etcd-io/etcd#19597). A waiter's lease can
// expire while it waits (its keepalives stopped: a network cut, a long
// pause). etcd then deletes its key, and its place in the queue is gone: it
// can never get the lock with this session. But etcd's Mutex watches only
// the key ahead of its own, so it goes on waiting until that holder leaves,
// and only then finds out, with ErrSessionExpired. A waiter should know at
// once, to start again with a new session or to give up.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lock"
)

// waiterTTL is the waiter's lease TTL, in seconds: its session renews the
// lease every TTL/3, and notices within about that time that it is gone.
const waiterTTL = 1

// etcdMutexWaits is B waiting for the lock with etcd's Mutex.
func etcdMutexWaits(ctx context.Context, session *concurrency.Session) error {
	m := concurrency.NewMutex(session, lockName)
	if err := m.Lock(ctx); err != nil {
		return err
	}
	return m.Unlock(ctx)
}

// sessionBoundWait is fix 1: the same Mutex, but its wait ends with the
// session. session.Ctx() is cancelled when session.Done() closes: when the
// session's keepalive learns that the lease is gone.
func sessionBoundWait(ctx context.Context, session *concurrency.Session) error {
	m := concurrency.NewMutex(session, lockName)
	if err := m.Lock(session.Ctx()); err != nil {
		return err
	}
	return m.Unlock(ctx)
}

// workshopLockWaits is fix 2: the workshop's lock watches the waiter's own
// key as well as the one ahead of it, and returns ErrSessionExpired as soon
// as etcd deletes it.
func workshopLockWaits(ctx context.Context, session *concurrency.Session) error {
	m := lock.NewMutex(session, lockName)
	if err := m.Lock(ctx); err != nil {
		return err
	}
	return m.Unlock(ctx)
}

// playExpiredWhileWaiting expires B's lease while B waits behind A, three
// times: with etcd's Mutex, and with each fix.
func playExpiredWhileWaiting(ctx context.Context, p *Play) (Outcome, error) {
	p.Section("broken: B waits with etcd's Mutex")
	broken, err := p.expireWaiter(ctx, etcdMutexWaits, p.wait, true)
	if err != nil {
		return Outcome{}, err
	}
	p.Section("fixed: B waits with Lock(session.Ctx()), which ends when session.Done() closes")
	fix1, err := p.expireWaiter(ctx, sessionBoundWait, patience, false)
	if err != nil {
		return Outcome{}, err
	}
	p.Section("fixed: B waits with the workshop's lock (internal/lock), which watches B's own key too")
	fix2, err := p.expireWaiter(ctx, workshopLockWaits, patience, false)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Saw:   fmt.Sprintf("B waited %s after its lease was gone, until A left", cli.Seconds(broken.after)),
		Why:   "etcd's Mutex watches only the key ahead of its own",
		Broke: !broken.beforeALeft && errors.Is(broken.err, concurrency.ErrSessionExpired),
		Fixed: fmt.Sprintf("B gave up %s (session.Ctx()) and %s (internal/lock) after its lease was gone, while A still held the lock",
			cli.Seconds(fix1.after), cli.Seconds(fix2.after)),
		Worked: fix1.beforeALeft && fix2.beforeALeft && errors.Is(fix2.err, concurrency.ErrSessionExpired),
	}, nil
}

// waited is how B's wait ended.
type waited struct {
	after       time.Duration // from B's lease going to B's Lock returning
	beforeALeft bool
	err         error // what B's Lock returned
}

// expireWaiter stages one wait: A holds the lock; B waits for it with wait;
// once B's key is queued, B's lease is revoked. A keeps the lock until B's
// Lock returns, hold at most, then unlocks. With countdown, stderr says
// every second that B is still waiting.
func (p *Play) expireWaiter(ctx context.Context, wait func(context.Context, *concurrency.Session) error, hold time.Duration, countdown bool) (w waited, err error) {
	a, _, err := p.Holder(ctx, "A", 60)
	if err != nil {
		return w, err
	}
	p.Logf("A: keeps the lock until B gives up, %s at most", hold)
	session, err := p.Session(ctx, nil, waiterTTL)
	if err != nil {
		return w, err
	}
	var waitErr error // B's, once done is closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitErr = wait(ctx, session)
	}()
	aLeft := false
	defer func() { // also on an error: A leaves, so that B's wait ends
		if !aLeft {
			uctx, cancel := p.etcd.WithTimeout(context.WithoutCancel(ctx))
			a.Unlock(uctx)
			cancel()
		}
		<-done
	}()

	if err := p.Queued(ctx, keyOf(session)); err != nil {
		return w, err
	}
	p.Logf("B: waits for the lock; its key %s is queued behind A's", keyOf(session))
	if err := p.Expire(ctx, session); err != nil {
		return w, err
	}
	gone := time.Now()
	p.Logf("B's lease is revoked, as etcd does once B's keepalives have stopped for a TTL: B's key is deleted")
	label := ""
	if countdown {
		label = "B: still waiting, %s after its lease was gone"
	}
	w.beforeALeft, err = p.Watch(ctx, gone, hold, done, label)
	if err != nil {
		return w, err
	}
	if !w.beforeALeft {
		if err := a.Unlock(ctx); err != nil {
			return w, err
		}
		aLeft = true
		p.Logf("A: unlocked, %s after B's lease was gone", hold)
		select {
		case <-done:
		case <-time.After(patience):
			return w, fmt.Errorf("B still waiting %s after A left", patience)
		}
	}
	w.after, w.err = time.Since(gone), waitErr
	p.Logf("B: Lock returned %q, %s after its lease was gone", w.err, cli.Seconds(w.after))
	if w.beforeALeft {
		if err := a.Unlock(ctx); err != nil {
			return w, err
		}
		aLeft = true
		p.Logf("A: unlocked")
	}
	return w, nil
}
