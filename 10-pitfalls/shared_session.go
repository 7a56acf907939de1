package main

// Pitfall shared-session (etcd-io/etcd#11360). The article gives each of its
// goroutines a session of its own. A session costs a lease and a keepalive,
// so it is tempting to make one and share it; each goroutine still makes its
// own Mutex. But a Mutex's key is not its own: it is named after the session.

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
)

// workers is how many goroutines contend for the lock.
const workers = 3

// sharedSession is the mistake: one session for all the goroutines. Every
// Mutex on it has the same key, /my-test-lock/<the session's lease>. The
// first Lock creates that key; every other Lock finds it already there, the
// oldest under the prefix, takes it for its own, and walks in.
func sharedSession(ctx context.Context, p *Play, room *Room) error {
	session, err := p.Session(ctx, nil, 60)
	if err != nil {
		return err
	}
	return room.Goroutines(workers, func(w *Worker) error {
		m := concurrency.NewMutex(session, lockName)
		if err := m.Lock(ctx); err != nil {
			return err
		}
		w.Incr(m.Key()) // read the count, let the others catch up, write count+1
		return m.Unlock(ctx)
	})
}

// sharedSessionRefused is the same mistake with the workshop's lock
// (internal/lock): its key holds the value its Mutex put, so a second Mutex
// on the session sees that the key is another's, and refuses to walk in.
func sharedSessionRefused(ctx context.Context, p *Play) (refused error, err error) {
	session, err := p.Session(ctx, nil, 60)
	if err != nil {
		return nil, err
	}
	first, second := lock.NewMutex(session, lockName), lock.NewMutex(session, lockName)
	if err := first.Lock(ctx); err != nil {
		return nil, err
	}
	p.Logf("Mutex 1: locked %s", first.Key())
	refused = second.Lock(ctx)
	if refused == nil {
		p.Logf("Mutex 2: locked %s too: two holders", second.Key())
		second.Unlock(ctx)
	} else {
		p.Logf("Mutex 2: %v", refused)
	}
	if err := first.Unlock(ctx); err != nil {
		return refused, err
	}
	p.Logf("Mutex 1: unlocked")
	return refused, nil
}

// sessionEach is the fix: a session per goroutine, so a key each, and each
// Lock waits until the keys older than its own are gone. (Inside one
// process, a sync.Mutex taken before the etcd lock works too: then the
// goroutines queue in the process, and only one of them at a time in etcd.)
func sessionEach(ctx context.Context, p *Play, room *Room) error {
	return room.Goroutines(workers, func(w *Worker) error {
		session, err := p.Session(ctx, nil, 60)
		if err != nil {
			return err
		}
		m := concurrency.NewMutex(session, lockName)
		if err := m.Lock(ctx); err != nil {
			return err
		}
		w.Incr(m.Key())
		return m.Unlock(ctx)
	})
}

// playSharedSession runs both and counts the holders inside at once.
func playSharedSession(ctx context.Context, p *Play) (Outcome, error) {
	p.Section("broken: %d goroutines share one session; each locks its own NewMutex(session, %q)", workers, lockName)
	broken := p.NewRoom(ctx, workers)
	if err := sharedSession(ctx, p, broken); err != nil {
		return Outcome{}, err
	}
	p.Section("the workshop's lock (internal/lock), one session, two NewMutex: the second refused")
	refused, err := sharedSessionRefused(ctx, p)
	if err != nil {
		return Outcome{}, err
	}
	p.Section("fixed: a session per goroutine")
	fixed := p.NewRoom(ctx, workers)
	if err := sessionEach(ctx, p, fixed); err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Saw:   fmt.Sprintf("%s inside at once, count=%d after %d increments", holders(broken.Most()), broken.Count(), workers),
		Why:   fmt.Sprintf("every Mutex on one session has the same key, %s/<the session's lease>", lockName),
		Broke: broken.Most() > 1 && broken.Count() < workers,
		Fixed: fmt.Sprintf("%s at a time, count=%d after %d increments; internal/lock refused the shared session",
			holders(fixed.Most()), fixed.Count(), workers),
		Worked: fixed.Most() == 1 && fixed.Count() == workers && errors.Is(refused, lock.ErrSessionShared),
	}, nil
}
