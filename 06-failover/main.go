// Chapter 06, beyond the article: the article deploys three etcd members;
// here they fail. Workers, each with its own session (a process of the
// article), take /my-test-lock and add one to a counter kept in etcd. The
// leader crashes: after a short election the workers lock again and no update
// is lost. A second member crashes: with no quorum a lock attempt fails within
// its timeout. Both come back, and the lock works again.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/compose"
	"etcd-lock-workshop/internal/workshop"
)

const (
	lockName   = "/my-test-lock"
	counterKey = "/my-test-counter"
	sessionTTL = 10 // seconds; a leader change renews every lease, so failover never expires one
	// A write sent through a follower to a leader that then crashes is lost,
	// and the client learns it only at its deadline: a short one keeps the
	// lock holder from making everyone wait.
	requestTimeout = time.Second
)

// Counter is the article's counter, kept in etcd so that every worker (every
// process) shares it. Incr reads, then writes: two workers inside at once
// would both write n+1 and lose an update. Only the lock prevents that.
type Counter struct{ etcd *workshop.Etcd }

func (c *Counter) Count(ctx context.Context) (int, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.etcd.Client.Get(rctx, counterKey)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

func (c *Counter) Incr(ctx context.Context) error {
	n, err := c.Count(ctx)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err = c.etcd.Client.Put(rctx, counterKey, strconv.Itoa(n+1)); err == nil {
		return nil
	}
	// A failed write may still have been applied: a leader can commit it and
	// crash before it answers. We still hold the lock, so nobody else writes:
	// read the counter back to learn which.
	return c.settle(ctx, n, err)
}

var errUnknown = errors.New("outcome unknown")

func (c *Counter) settle(ctx context.Context, n int, writeErr error) error {
	deadline := time.Now().Add(10 * requestTimeout)
	for time.Now().Before(deadline) {
		m, err := c.Count(ctx)
		switch {
		case err != nil:
			time.Sleep(50 * time.Millisecond) // an election is under way: ask again
		case m == n+1:
			return nil // applied after all
		case m == n:
			return writeErr // not applied
		default:
			return fmt.Errorf("counter went from %d to %d while we held the lock", n, m)
		}
	}
	return fmt.Errorf("write of %d failed (%v) and the counter could not be read back: %w", n+1, writeErr, errUnknown)
}

// lock takes the mutex, or gives up after timeout. (NewLocker's Lock, the
// article's, has no timeout and panics on error: a worker needs both.) An
// attempt can fail at once, on a connection that a crash cut: try again.
func lock(ctx context.Context, mutex *concurrency.Mutex, timeout time.Duration) error {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := mutex.Lock(lctx)
		if err == nil || lctx.Err() != nil {
			return err
		}
		select {
		case <-lctx.Done():
			return fmt.Errorf("%w (and before that: %v)", lctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func unlock(ctx context.Context, mutex *concurrency.Mutex) {
	uctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	mutex.Unlock(uctx) // on failure the key stays ours: the next Lock reuses it
}

// worker is one process of the article: its own session and its own lock,
// taking the lock over and over until stop closes.
func worker(ctx context.Context, etcd *workshop.Etcd, timeout time.Duration, stop <-chan struct{}, t *tally, work func(context.Context) error) error {
	session, err := etcd.NewSession(ctx, sessionTTL)
	if err != nil {
		return err
	}
	defer session.Close() // revokes the lease, and with it a key left behind
	mutex := concurrency.NewMutex(session, lockName)
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := lock(ctx, mutex, timeout); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			t.failed(err)
			continue
		}
		began := time.Now()
		err := work(ctx)
		unlock(ctx, mutex)
		t.finished(began, err)
	}
}

// The scenario: what happens, when, and what it shows.

type options struct {
	workers  int           // each with its own session
	sections int           // critical sections before the crash, and after it
	timeout  time.Duration // for one lock attempt
	work     func(*Counter, context.Context) error
}

type report struct {
	leader, newLeader     string
	electedAfter, pause   time.Duration // from the crash to a new leader, and to the first critical section begun after it
	sections, count       int           // successful critical sections, and the counter in etcd
	failedDuringElection  int
	noQuorum              error
	noQuorumAfter         time.Duration
	restartedLeader       string
	recovered, finalCount int // critical sections once the members are back, and the counter
}

func failover(ctx context.Context, c *cluster.Etcd, opt options, stdout io.Writer) (report, error) {
	var r report
	start := time.Now()
	var sayMu sync.Mutex // the election is reported from another goroutine
	say := func(format string, args ...any) {
		sayMu.Lock()
		defer sayMu.Unlock()
		workshop.Logf(stdout, "+%-5s "+format, append([]any{workshop.Seconds(time.Since(start))}, args...)...)
	}
	counter := &Counter{etcd: c.Etcd}
	if err := reset(ctx, c.Etcd); err != nil {
		return r, err
	}

	// 1. Contention: every worker locks, reads the counter, writes it plus one.
	t := newTally()
	stop := make(chan struct{})
	errs := make(chan error, opt.workers)
	for range opt.workers {
		go func() {
			errs <- worker(ctx, c.Etcd, opt.timeout, stop, t, func(ctx context.Context) error { return opt.work(counter, ctx) })
		}()
	}
	stopWorkers := func() error {
		close(stop)
		var all []error
		for range opt.workers {
			all = append(all, <-errs)
		}
		return errors.Join(all...)
	}
	say("%d workers, each with its own session: lock %s, read %s, write it plus one", opt.workers, lockName, counterKey)
	if err := t.wait(ctx, func() bool { return len(t.sections) >= opt.sections }); err != nil {
		return r, errors.Join(err, stopWorkers())
	}

	// 2. The leader crashes while the workers contend.
	leader, err := cluster.Leader(ctx, c.Client, c.Endpoints, c.Timeout)
	if err != nil || leader == "" {
		return r, errors.Join(fmt.Errorf("no leader to stop (%v)", err), stopWorkers())
	}
	r.leader = leader
	say("%d critical sections done; stopping the leader, %s (a crash: no hand-over)", t.done(), leader)
	crash, err := c.Members.Stop(ctx, leader)
	if err != nil {
		return r, errors.Join(err, stopWorkers())
	}
	t.crashed(crash)
	newLeader := make(chan string, 1)
	var electedAt time.Time
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	go func() {
		name := waitNewLeader(pollCtx, c, leader)
		electedAt = time.Now()
		newLeader <- name
	}()
	err = t.wait(ctx, func() bool { n, _ := t.after(); return n >= opt.sections })
	if err != nil {
		stopPolling() // the workers made no progress: do not wait for a leader either
	}
	r.newLeader = <-newLeader
	r.electedAfter = electedAt.Sub(crash)
	if err = errors.Join(err, stopWorkers()); err != nil {
		return r, err
	}
	_, firstEnded := t.after()
	r.pause = firstEnded.Sub(crash)
	say("new leader %s, seen (by polling the members) %s after the crash", r.newLeader, workshop.Seconds(r.electedAfter))
	say("first critical section begun after the crash done %s after it: the election pause", workshop.Seconds(r.pause))
	r.sections, r.failedDuringElection = t.done(), t.failedAfterCrash()
	if r.count, err = counter.Count(ctx); err != nil {
		return r, err
	}
	if t.unknown > 0 || r.count != r.sections {
		return r, fmt.Errorf("count %d, but %d critical sections succeeded (%d unknown): the lock failed to exclude", r.count, r.sections, t.unknown)
	}
	say("workers stopped: count %d = %d critical sections, no update lost (%d %s after the crash%s)",
		r.count, r.sections, r.failedDuringElection, plural(r.failedDuringElection, "attempt failed", "attempts failed"), t.errorsAfterCrash())

	// 3. A second member crashes: 1 of 3 is no majority, so nothing commits.
	session, err := c.NewSession(ctx, sessionTTL)
	if err != nil {
		return r, err
	}
	defer session.Close()
	if _, err := c.Members.Stop(ctx, r.newLeader); err != nil {
		return r, err
	}
	say("stopping %s too: 2 of 3 members down", r.newLeader)
	began := time.Now()
	err = lock(ctx, concurrency.NewMutex(session, lockName), opt.timeout)
	r.noQuorumAfter = time.Since(began)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if err == nil {
		return r, errors.New("locked with 2 of 3 members down: a lock without a quorum would not be safe")
	}
	r.noQuorum = fmt.Errorf("no quorum: 2 of 3 members down, and a lock needs a majority (2 of 3) to commit its key: %w", err)
	say("lock failed after %s: %v", workshop.Seconds(r.noQuorumAfter), r.noQuorum)

	// 4. Both members come back with their data; the lock works again.
	for _, name := range []string{r.leader, r.newLeader} {
		if err := c.Members.Start(ctx, name); err != nil {
			return r, err
		}
	}
	r.restartedLeader, _ = cluster.Leader(ctx, c.Client, c.Endpoints, c.Timeout)
	say("%s and %s restarted: 3 of 3 members up, leader %s", r.leader, r.newLeader, r.restartedLeader)
	mutex := concurrency.NewMutex(session, lockName)
	if err := lock(ctx, mutex, opt.timeout); err != nil {
		return r, fmt.Errorf("no lock after the restart: %w", err)
	}
	err = opt.work(counter, ctx)
	unlock(ctx, mutex)
	if err != nil {
		return r, err
	}
	r.recovered = r.sections + 1
	if r.finalCount, err = counter.Count(ctx); err != nil {
		return r, err
	}
	say("locked again: count %d = %d critical sections", r.finalCount, r.recovered)
	return r, nil
}

func main() { workshop.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := workshop.NewFlagSet("06-failover", stderr)
	flags := workshop.EtcdFlags(fs)
	opt := options{work: (*Counter).Incr}
	fs.IntVar(&opt.workers, "workers", 5, "workers, each with its own session")
	fs.IntVar(&opt.sections, "sections", 10, "critical sections before the leader is stopped, and after")
	fs.DurationVar(&opt.timeout, "lock-timeout", 2*time.Second, "how long one lock attempt may wait")
	project := fs.String("project", compose.Project, "with -endpoints: the docker compose project whose members to stop")
	if err := workshop.Parse(fs, args); err != nil {
		return err
	}
	if opt.workers < 1 || opt.sections < 1 {
		err := errors.New("-workers and -sections must be at least 1")
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return &workshop.UsageError{Err: err}
	}
	c, err := cluster.Connect(ctx, flags, *project, stderr)
	if err != nil {
		return err
	}
	defer c.Close()

	r, err := failover(ctx, c, opt, stdout)
	if ctx.Err() != nil {
		return ctx.Err() // Ctrl-C: one line, not one per worker
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "count: %d\n", r.finalCount)
	return nil
}

// Plumbing of the scenario.

func reset(ctx context.Context, etcd *workshop.Etcd) error {
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	_, err := etcd.Client.Put(rctx, counterKey, "0")
	return err
}

// waitNewLeader polls the members until one other than old leads: no event
// tells a client "elected".
func waitNewLeader(ctx context.Context, c *cluster.Etcd, old string) string {
	for ctx.Err() == nil {
		// A short timeout: a crashed member never answers, and while the
		// others disagree, its silence would hold up the answer.
		if name, _ := cluster.Leader(ctx, c.Client, c.Endpoints, 250*time.Millisecond); name != "" && name != old {
			return name
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return ""
}

// tally records the workers' critical sections, to time them against the crash.
type tally struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	sections []section     // the successful ones
	failures []failure     // lock attempts that failed
	unknown  int           // critical sections whose write may or may not have landed
	crash    time.Time
	lastErr  error
}

type section struct{ began, ended time.Time }

type failure struct {
	at  time.Time
	err error
}

func newTally() *tally { return &tally{changed: make(chan struct{})} }

func (t *tally) update(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f()
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *tally) failed(err error) {
	t.update(func() {
		t.failures = append(t.failures, failure{time.Now(), err})
		t.lastErr = err
	})
}

func (t *tally) finished(began time.Time, err error) {
	t.update(func() {
		switch {
		case err == nil:
			t.sections = append(t.sections, section{began, time.Now()})
		case errors.Is(err, errUnknown):
			t.unknown++
			t.lastErr = err
		default:
			t.failures = append(t.failures, failure{time.Now(), err})
			t.lastErr = err
		}
	})
}

func (t *tally) crashed(at time.Time) { t.update(func() { t.crash = at }) }

// The methods below are called with t.mu held (in wait) or after the workers stopped.

func (t *tally) done() int { return len(t.sections) }

// after counts the critical sections begun after the crash, and tells when
// the first of them ended.
func (t *tally) after() (n int, firstEnded time.Time) {
	if t.crash.IsZero() {
		return 0, time.Time{}
	}
	for _, s := range t.sections {
		if s.began.After(t.crash) {
			if n++; firstEnded.IsZero() || s.ended.Before(firstEnded) {
				firstEnded = s.ended
			}
		}
	}
	return n, firstEnded
}

func (t *tally) failedAfterCrash() int {
	n := 0
	for _, f := range t.failures {
		if f.at.After(t.crash) {
			n++
		}
	}
	return n
}

// errorsAfterCrash sums up why attempts failed after the crash.
func (t *tally) errorsAfterCrash() string {
	count := map[string]int{}
	var order []string
	for _, f := range t.failures {
		if !f.at.After(t.crash) {
			continue
		}
		msg := f.err.Error()
		if errors.Is(f.err, context.DeadlineExceeded) {
			msg = "timed out"
		}
		if count[msg]++; count[msg] == 1 {
			order = append(order, msg)
		}
	}
	var parts []string
	for _, msg := range order {
		parts = append(parts, fmt.Sprintf("%d× %s", count[msg], msg))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// wait returns once done() holds (it is called with the tally locked), or
// fails after a minute without progress.
func (t *tally) wait(ctx context.Context, done func() bool) error {
	for {
		t.mu.Lock()
		ok, changed, lastErr, n := done(), t.changed, t.lastErr, len(t.sections)
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return fmt.Errorf("no progress for a minute (%d critical sections, last error: %v)", n, lastErr)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
