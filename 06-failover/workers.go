package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

const (
	lockName   = "/my-test-lock"
	sessionTTL = 10 // seconds; a leader change renews every lease, so failover never expires one
)

// worker is one process of the article: its own client, session and lock,
// taking the lock over and over until stop closes.
func worker(ctx context.Context, id int, shared *workshop.Etcd, opt options, opened *sessions, stop <-chan struct{}, journal *journal) error {
	cli, err := shared.Dial(ctx, shared.Endpoints)
	if err != nil {
		journal.quit(err)
		return err
	}
	etcd := &workshop.Etcd{Client: cli, Endpoints: shared.Endpoints, Timeout: shared.Timeout, Credentials: shared.Credentials}
	defer etcd.Close()
	session, err := etcd.NewSession(ctx, sessionTTL)
	if err != nil {
		journal.quit(err)
		return err
	}
	opened.add(session)
	defer func() {
		// Revokes the lease, and with it a key left behind. After Ctrl-C the
		// chapter's clean-up does it, once it has restarted what it stopped.
		if ctx.Err() == nil {
			etcd.CloseSession(ctx, session)
		}
	}()
	mutex := concurrency.NewMutex(session, lockName)
	counter := &Counter{etcd: etcd}
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		journal.attempting(id)
		if err := lock(ctx, mutex, opt.timeout); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			journal.failed(id, err)
			continue
		}
		began := time.Now()
		err := opt.work(ctx, counter)
		unlock(ctx, mutex)
		journal.finished(id, began, err)
	}
}

// lock takes the mutex, or gives up after timeout with an error that is
// context.DeadlineExceeded. (NewLocker's Lock, the article's, has no timeout
// and panics on error: a worker needs both.) An attempt can fail at once, on
// a connection that a crash cut: try again.
func lock(ctx context.Context, mutex *concurrency.Mutex, timeout time.Duration) error {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := mutex.Lock(lctx)
		if err == nil {
			return nil
		}
		if lctx.Err() == nil {
			select {
			case <-lctx.Done():
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			return lctx.Err()
		}
		// etcd may have timed the request out itself: "request timed out".
		return fmt.Errorf("%w (the last error: %v)", lctx.Err(), err)
	}
}

func unlock(ctx context.Context, mutex *concurrency.Mutex) {
	uctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	mutex.Unlock(uctx) // on failure the key stays ours: the next Lock reuses it
}

// crew is the workers of a run and their journal.
type crew struct {
	journal *journal
	stopped chan struct{}
	errs    chan error
	size    int
	grace   time.Duration      // for the workers to finish what they do once told to stop
	cancel  context.CancelFunc // ends their clients: what etcd would wait on forever ends too
}

func startWorkers(ctx context.Context, etcd *workshop.Etcd, opt options, opened *sessions, stderr io.Writer) *crew {
	wctx, cancel := context.WithCancel(ctx)
	c := &crew{journal: newJournal(opt, stderr), stopped: make(chan struct{}), errs: make(chan error, opt.workers),
		size: opt.workers, grace: opt.timeout + 15*time.Second, cancel: cancel}
	for id := range opt.workers {
		go func() { c.errs <- worker(wctx, id, etcd, opt, opened, c.stopped, c.journal) }()
	}
	return c
}

// stop tells every worker to stop after its current attempt, and waits for
// them. A worker may be stuck in etcd's Mutex.Lock, which, when its wait
// fails, deletes its key with its client's context, without a deadline: with
// no quorum that never returns. After the grace period, their clients end.
func (c *crew) stop() error {
	close(c.stopped)
	defer c.cancel()
	var all []error
	timeout := time.After(c.grace)
	late := false
	for range c.size {
		select {
		case err := <-c.errs:
			all = append(all, err)
			continue
		case <-timeout:
		}
		c.cancel()
		late = true
		all = append(all, <-c.errs)
	}
	if late {
		// What the workers say once cancelled is only "context canceled".
		return fmt.Errorf("workers still in etcd calls %s after they were told to stop: their clients were closed", c.grace)
	}
	return joinLine(all...)
}
