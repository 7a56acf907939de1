package main

// Plumbing of the pitfalls: how each one is staged and cleaned up. Nothing
// here is part of a lesson.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

// patience bounds every wait for something that a working etcd does at once
// (a key queued, a lock handed over): passing it means the stage is broken.
const patience = 10 * time.Second

// Pitfall is one mistake, its source, and the play that shows it.
type Pitfall struct {
	Name  string
	Issue string // where it is reported: an etcd issue, or etcd's source
	Title string
	Fix   string // the fix, in one line
	Play  func(ctx context.Context, p *Play) (Outcome, error)
}

// Outcome is what the broken program and its fix did.
type Outcome struct {
	Saw    string // what went wrong in the broken program: one line, also the table's
	Why    string // why it went wrong, said after Saw
	Broke  bool   // it did go wrong, as the pitfall says it does
	Fixed  string // what the fixed program did instead
	Worked bool   // the fixed program did not go wrong
}

// Play is the stage of one pitfall: the etcd, the output, and everything the
// pitfall made in etcd, which cleanup removes.
type Play struct {
	etcd   *workshop.Etcd
	out    io.Writer // the timeline and the verdicts
	status io.Writer // countdowns
	wait   time.Duration

	mu       sync.Mutex
	leases   []clientv3.LeaseID
	sessions []*concurrency.Session
	clients  []*clientv3.Client
}

// show plays one pitfall and says what the learner saw and what the fix is.
// Whatever happens, its leases are revoked (their keys go with them) and its
// clients closed before it returns, also after Ctrl-C.
func show(ctx context.Context, etcd *workshop.Etcd, pitfall Pitfall, wait time.Duration, stdout, stderr io.Writer) (outcome Outcome, err error) {
	p := &Play{etcd: etcd, out: stdout, status: stderr, wait: wait}
	defer func() { err = errors.Join(err, p.cleanup(ctx)) }()
	fmt.Fprintf(stdout, "\n== %s: %s (%s)\n", pitfall.Name, pitfall.Title, pitfall.Issue)
	if err := p.checkFree(ctx); err != nil {
		return Outcome{}, err
	}
	// Every pitfall ends in seconds: this bound is for an etcd that stops answering.
	bounded, cancel := context.WithTimeout(ctx, 2*patience+3*wait)
	defer cancel()
	outcome, err = pitfall.Play(bounded, p)
	if err == nil {
		err = ctx.Err() // stopped (Ctrl-C): what it showed is no verdict
	}
	if err != nil {
		return outcome, err
	}
	if outcome.Why != "" {
		fmt.Fprintf(stdout, "you saw: %s: %s\n", outcome.Saw, outcome.Why)
	} else {
		fmt.Fprintf(stdout, "you saw: %s\n", outcome.Saw)
	}
	fmt.Fprintf(stdout, "the fix: %s\n", pitfall.Fix)
	fmt.Fprintf(stdout, "fixed:   %s\n", outcome.Fixed)
	return outcome, nil
}

// Section starts the broken program's part, or the fix's.
func (p *Play) Section(format string, args ...any) {
	fmt.Fprintf(p.out, "-- "+format+"\n", args...)
}

// Logf prints a line of the timeline.
func (p *Play) Logf(format string, args ...any) { cli.Logf(p.out, format, args...) }

// Client returns a client of its own (ctx ends it), closed by cleanup.
func (p *Play) Client(ctx context.Context) (*clientv3.Client, error) {
	cli, err := p.etcd.Dial(ctx, p.etcd.Endpoints)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.clients = append(p.clients, cli)
	p.mu.Unlock()
	return cli, nil
}

// Session returns a session on cli (nil: the main client) whose ttl-second
// lease is granted within the timeout; cleanup revokes it.
func (p *Play) Session(ctx context.Context, cli *clientv3.Client, ttl int) (*concurrency.Session, error) {
	if cli == nil {
		cli = p.etcd.Client
	}
	rctx, cancel := p.etcd.WithTimeout(ctx)
	defer cancel()
	lease, err := cli.Grant(rctx, int64(ttl))
	if err != nil {
		return nil, fmt.Errorf("grant a %ds lease: %w", ttl, err)
	}
	p.mu.Lock()
	p.leases = append(p.leases, lease.ID)
	p.mu.Unlock()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl), concurrency.WithLease(lease.ID), concurrency.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.sessions = append(p.sessions, s)
	p.mu.Unlock()
	return s, nil
}

// Holder is name, with a session of its own (a ttl-second lease), holding
// the lock with etcd's Mutex: the one the others wait behind, or after.
func (p *Play) Holder(ctx context.Context, name string, ttl int) (*concurrency.Mutex, *concurrency.Session, error) {
	s, err := p.Session(ctx, nil, ttl)
	if err != nil {
		return nil, nil, err
	}
	m := concurrency.NewMutex(s, lockName)
	lctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := m.Lock(lctx); err != nil {
		return nil, nil, fmt.Errorf("%s: lock %s: %w", name, lockName, err)
	}
	p.Logf("%s: locked %s", name, m.Key())
	return m, s, nil
}

// keyOf is the key a session's lock has under lockName: etcd's Mutex and the
// workshop's lock name it alike, after the session's lease.
func keyOf(s *concurrency.Session) string { return fmt.Sprintf("%s/%x", lockName, s.Lease()) }

// Queued waits until key is in etcd: a waiter's Lock has put it in the queue.
func (p *Play) Queued(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	resp, err := p.etcd.Client.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) > 0 {
		return nil
	}
	for wr := range p.etcd.Client.Watch(ctx, key, clientv3.WithRev(resp.Header.Revision+1), clientv3.WithFilterDelete()) {
		if err := wr.Err(); err != nil {
			return err
		}
		if len(wr.Events) > 0 {
			return nil
		}
	}
	return fmt.Errorf("%s not queued within %s: %w", key, patience, ctx.Err())
}

// Still says whether key is still in etcd.
func (p *Play) Still(ctx context.Context, key string) string {
	rctx, cancel := p.etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := p.etcd.Client.Get(rctx, key, clientv3.WithCountOnly())
	switch {
	case err != nil:
		return "could not be read: " + err.Error()
	case resp.Count > 0:
		return "is still there"
	default:
		return "is gone"
	}
}

// Expire revokes s's lease: what etcd does once a lease's keepalives have
// stopped for its TTL, without the wait. The lease's keys go with it. A
// lease etcd has expired already (a short one, its keepalives late on a
// busy machine) is that same outcome.
func (p *Play) Expire(ctx context.Context, s *concurrency.Session) error {
	rctx, cancel := p.etcd.WithTimeout(ctx)
	defer cancel()
	if _, err := p.etcd.Client.Revoke(rctx, s.Lease()); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return err
	}
	return nil
}

// checkFree refuses to play on a lock that someone else holds or waits for:
// their keys would join the pitfall's, and its counts would be wrong.
func (p *Play) checkFree(ctx context.Context) error {
	rctx, cancel := p.etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := p.etcd.Client.Get(rctx, lockName+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	if resp.Count > 0 {
		return fmt.Errorf("%s is in use: another program holds or waits for it (keys under it: %d); run again once it is free", lockName, resp.Count)
	}
	return nil
}

// cleanup stops every session's keepalive, revokes every lease the pitfall
// granted (a lease etcd has already dropped is fine), and closes its clients.
// It does not use ctx's cancellation: after Ctrl-C the leases must still go.
func (p *Play) cleanup(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sessions {
		s.Orphan()
	}
	err := p.etcd.RevokeLeases(ctx, p.leases)
	for _, cli := range p.clients {
		cli.Close()
	}
	return err
}
