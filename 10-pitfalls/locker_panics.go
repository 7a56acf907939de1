package main

// Pitfall locker-panics. The article locks with concurrency.NewLocker, which
// returns a sync.Locker: its Lock() and Unlock() have no error to return. So
// on any error (the client closed, the session expired, a request refused)
// they panic (etcd's client/v3/concurrency/mutex.go, lockerMutex), and a
// panic nobody recovers ends the whole program, every goroutine with it.

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// lockerWaits is B the article's way: it waits for the lock with NewLocker.
func lockerWaits(session *concurrency.Session) {
	locker := concurrency.NewLocker(session, lockName)
	locker.Lock() // waits with the client's context: when the client closes, it panics
	locker.Unlock()
}

// mutexWaits is the fix: NewMutex, whose Lock(ctx) returns its error.
func mutexWaits(ctx context.Context, session *concurrency.Session) error {
	m := concurrency.NewMutex(session, lockName)
	if err := m.Lock(ctx); err != nil {
		return err
	}
	return m.Unlock(ctx)
}

// playLockerPanics has B wait behind A, and shuts B down while it waits, as
// a program does on Ctrl-C or SIGTERM: first by closing B's etcd client (a
// Locker waits with the client's context), then by cancelling B's context.
func playLockerPanics(ctx context.Context, p *Play) (Outcome, error) {
	p.Section("broken: B waits for the lock with NewLocker (a sync.Locker: Lock() has no error to return)")
	a, _, err := p.Holder(ctx, "A", 60)
	if err != nil {
		return Outcome{}, err
	}
	client, err := p.Client(ctx) // B's own, so that closing it shuts down B only
	if err != nil {
		return Outcome{}, err
	}
	session, err := p.Session(ctx, client, 60)
	if err != nil {
		return Outcome{}, err
	}
	var panicked *panicTrace
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		defer catchPanic(&panicked)
		lockerWaits(session)
	}()
	defer func() { client.Close(); <-waited }() // on an error too: B's wait ends
	if err := p.Queued(ctx, keyOf(session)); err != nil {
		return Outcome{}, err
	}
	p.Logf("B: locker.Lock() waits for A")
	p.Logf("the program shuts down while B waits: it closes its etcd client")
	client.Close()
	<-waited // bounded: Lock's wait ends with the client's context
	if panicked != nil {
		p.Logf("B: locker.Lock() panicked (recovered here; anywhere else it ends the whole program):")
		panicked.Print(p.out)
	} else {
		p.Logf("B: locker.Lock() returned without a panic")
	}
	if err := p.Expire(ctx, session); err != nil { // B's key, left by the panic
		return Outcome{}, err
	}

	p.Section("fixed: B waits with NewMutex and Lock(ctx)")
	if session, err = p.Session(ctx, nil, 60); err != nil {
		return Outcome{}, err
	}
	bctx, shutdown := context.WithCancel(ctx)
	var fixedErr error
	var fixedPanicked *panicTrace
	fixedWaited := make(chan struct{})
	go func() {
		defer close(fixedWaited)
		defer catchPanic(&fixedPanicked)
		fixedErr = mutexWaits(bctx, session)
	}()
	defer func() { shutdown(); <-fixedWaited }()
	if err := p.Queued(ctx, keyOf(session)); err != nil {
		return Outcome{}, err
	}
	p.Logf("B: m.Lock(ctx) waits for A")
	p.Logf("the program shuts down while B waits: it cancels B's context")
	shutdown()
	<-fixedWaited
	if fixedPanicked != nil {
		fixedErr = fmt.Errorf("panicked: %v", fixedPanicked.Value)
	}
	p.Logf("B: m.Lock(ctx) returned an error: %v; B's goroutine can return it, and the program goes on", fixedErr)
	if err := a.Unlock(ctx); err != nil {
		return Outcome{}, err
	}

	saw := "locker.Lock() returned without a panic"
	if panicked != nil {
		saw = fmt.Sprintf("locker.Lock() panicked: %v", panicked.Value)
	}
	return Outcome{
		Saw:    saw,
		Why:    "a sync.Locker has no error to return, so NewLocker's Lock panics with it",
		Broke:  panicked != nil,
		Fixed:  fmt.Sprintf("m.Lock(ctx) returned %q", fixedErr),
		Worked: errors.Is(fixedErr, context.Canceled),
	}, nil
}
