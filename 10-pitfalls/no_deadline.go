package main

// Pitfall no-deadline (etcd-io/etcd#18082). Nothing in the article's program
// has a deadline: concurrency.NewSession(client) and locker.Lock() wait for
// etcd's answer as long as it takes. Against an etcd that does not answer (a
// frozen process, a member without quorum, a firewall that drops packets)
// that is forever, and the program hangs without a word.

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"etcd-lock-workshop/internal/cli"
)

// noDeadline is the article's program, up to the lock.
func noDeadline(ctx context.Context, endpoints []string) error {
	client, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints,
		Context:   ctx,          // not in the article: the workshop ends the wait with it
		Logger:    zap.NewNop(), // not in the article: no JSON logs
	})
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := concurrency.NewSession(client) // grants a lease, and waits for the answer
	if err != nil {
		return err
	}
	defer session.Close()
	locker := concurrency.NewLocker(session, lockName)
	locker.Lock()
	locker.Unlock()
	return nil
}

// requestTimeout bounds each request of the fixed program.
const requestTimeout = time.Second

// withDeadlinesAt is the fixed program with a client made as the article
// makes one: enough for an address that never answers, which wants no user.
func withDeadlinesAt(ctx context.Context, endpoints []string) error {
	client, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints,
		// Since etcd v3.7, New does not connect: DialTimeout bounds only its
		// auth and version checks, not a request. withDeadlines's deadlines do.
		DialTimeout: requestTimeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return err
	}
	defer client.Close()
	return withDeadlines(ctx, client)
}

// withDeadlines is the fix: every request has a deadline.
func withDeadlines(ctx context.Context, client *clientv3.Client) error {
	// The lease, within a deadline. Not NewSession(client,
	// WithContext(ctxWithDeadline)): the session would keep its lease alive
	// with that same context, and die at its deadline.
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	lease, err := client.Grant(gctx, 60)
	cancel()
	if err != nil {
		return fmt.Errorf("grant a lease: %w", err)
	}
	defer revoke(ctx, client, lease.ID) // session.Close would wait up to the TTL for a dead etcd
	// The session keeps the lease alive until the program ends (ctx: Ctrl-C).
	session, err := concurrency.NewSession(client, concurrency.WithLease(lease.ID), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer session.Orphan()

	m := concurrency.NewMutex(session, lockName)
	lctx, cancel := context.WithTimeout(ctx, requestTimeout) // as long as you are ready to wait, not forever
	defer cancel()
	if err := m.Lock(lctx); err != nil {
		return fmt.Errorf("lock %s: %w", lockName, err)
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	return m.Unlock(uctx)
}

// revoke revokes a lease within the timeout, even after Ctrl-C.
func revoke(ctx context.Context, client *clientv3.Client, id clientv3.LeaseID) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	client.Revoke(rctx, id)
}

// playNoDeadline runs both against an address that never answers, and the
// fix against the etcd in use too, where it must lock as usual.
func playNoDeadline(ctx context.Context, p *Play) (Outcome, error) {
	silent, err := listenSilently()
	if err != nil {
		return Outcome{}, err
	}
	defer silent.Close()
	endpoints := []string{silent.URL}

	p.Section("broken: the article's program (clientv3.New, concurrency.NewSession(client)) against %s, which accepts connections and never answers", silent.URL)
	const call = "concurrency.NewSession(client)"
	stuck, err := p.StuckFor(ctx, call, func(ctx context.Context) error { return noDeadline(ctx, endpoints) })
	if stuck {
		p.Logf("%s is still waiting after %s: it would wait forever; the workshop cancels it: %v", call, p.wait, err)
	} else {
		p.Logf("%s returned within %s: %v", call, p.wait, err)
	}

	p.Section("fixed: a deadline on every request; the session's keepalive ends with the program, not with a deadline")
	start := time.Now()
	silentErr := withDeadlinesAt(ctx, endpoints)
	took := time.Since(start)
	p.Logf("against %s: %v, after %s", silent.URL, silentErr, cli.Seconds(took))
	// Not a client as the article makes one: the etcd in use may want the
	// chapter's user, CA and namespace, and p.Client has them.
	live, liveErr := p.Client(ctx)
	if liveErr == nil {
		liveErr = withDeadlines(ctx, live)
	}
	if liveErr != nil {
		p.Logf("against the etcd in use: %v", liveErr)
	} else {
		p.Logf("against the etcd in use: locked and unlocked %s", lockName)
	}
	return Outcome{
		Saw:    fmt.Sprintf("%s still waiting after %s: it would wait forever", call, p.wait),
		Why:    "no request in the article's program has a deadline",
		Broke:  stuck,
		Fixed:  fmt.Sprintf("%q after %s from an etcd that does not answer, the lock as usual from one that does", silentErr, cli.Seconds(took)),
		Worked: errors.Is(silentErr, context.DeadlineExceeded) && took < patience && liveErr == nil,
	}, nil
}
