// Chapter 08, beyond the article: what an etcd lock costs. Side by side on one
// etcd it times a single write, the handoff of etcd's concurrency.Mutex (the
// holder calls Unlock, a waiter blocked in Lock returns) and the handoff of the
// workshop's own lock (internal/lock), which differs from etcd's Mutex in the
// revision its waiters watch from.
package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshop"
)

// Locker is what both locks offer, so one measurement serves both.
type Locker interface {
	Lock(ctx context.Context) error
	Unlock(ctx context.Context) error
}

// newLock makes a lock on pfx for a session: etcd's Mutex or the workshop's.
type newLock func(s *concurrency.Session, pfx string) Locker

func etcdMutex(s *concurrency.Session, pfx string) Locker   { return concurrency.NewMutex(s, pfx) }
func projectLock(s *concurrency.Session, pfx string) Locker { return lock.NewMutex(s, pfx) }

// resyncPeriod is how often etcd delivers events to "unsynced" watches
// (watchResyncPeriod in server/storage/mvcc/watchable_store.go).
const resyncPeriod = 100 * time.Millisecond

// handoff times one handoff: the holder takes the lock, the waiter calls Lock
// and queues; hold after the waiter's key appears in etcd (its Lock is then
// blocked in its watch), the holder calls Unlock. The handoff is the time
// from that call until the waiter's Lock returns.
func handoff(ctx context.Context, etcd *workshop.Etcd, holder, waiter Locker, queued <-chan struct{}, hold time.Duration) (time.Duration, error) {
	if err := withTimeout(ctx, etcd.Timeout, holder.Lock); err != nil {
		return 0, fmt.Errorf("holder lock: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	locked := make(chan time.Time, 1)
	var lockErr error
	go func() {
		lockErr = withTimeout(ctx, 10*time.Second, waiter.Lock)
		locked <- time.Now()
	}()
	var start time.Time
	err := waitFor(ctx, queued, 10*time.Second)
	if err == nil {
		err = sleep(ctx, hold)
	}
	if err == nil {
		start = time.Now()
		err = withTimeout(ctx, etcd.Timeout, holder.Unlock)
	}
	if err != nil {
		cancel() // the waiter gives up too
	}
	lockedAt := <-locked
	if err == nil {
		err = lockErr
	}
	if err == nil {
		err = withTimeout(ctx, etcd.Timeout, waiter.Unlock)
	}
	return lockedAt.Sub(start), err
}

// handoffs times n handoffs on pfx. Each round starts after a random delay
// of up to one resync period: a real holder lets go at any moment, not in
// step with etcd's resync loop. (Started right after the previous handoff,
// which etcd's Mutex gets at a resync, every round would release at the same
// point of the loop, and its handoff would always take 100 ms minus the hold.)
func handoffs(ctx context.Context, etcd *workshop.Etcd, newLock newLock, pfx string, n int, hold time.Duration) (Latencies, error) {
	holderSession, err := etcd.NewSession(ctx, 60)
	if err != nil {
		return nil, err
	}
	defer etcd.CloseSession(ctx, holderSession)
	waiterSession, err := etcd.NewSession(ctx, 60)
	if err != nil {
		return nil, err
	}
	defer etcd.CloseSession(ctx, waiterSession)
	ctx, cancel := context.WithCancel(ctx) // ends the watch below
	defer cancel()
	queued, err := watchPuts(ctx, etcd, fmt.Sprintf("%s/%x", pfx, waiterSession.Lease()))
	if err != nil {
		return nil, err
	}

	var lat Latencies
	for i := 0; i < n; i++ {
		if err := sleep(ctx, rand.N(resyncPeriod)); err != nil {
			return nil, err
		}
		d, err := handoff(ctx, etcd, newLock(holderSession, pfx), newLock(waiterSession, pfx), queued, hold)
		if err != nil {
			return nil, err
		}
		lat = append(lat, d)
	}
	return lat, nil
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	summary := stdout                                   // one line for scripts, however wide
	stdout, stderr = cli.Wrap(stdout), cli.Wrap(stderr) // for the projector: no other line over 100 columns
	fs := cli.NewFlagSet("08-handoff", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	rounds := cli.Int(fs, "rounds", 60, 1, 10000, "handoffs timed for each lock")
	nWrites := cli.Int(fs, "writes", 100, 1, 100000, "writes timed")
	hold := cli.Duration(fs, "hold", 10*time.Millisecond, time.Millisecond, time.Minute,
		"how long the waiter is queued before the holder lets go")
	sessions := cli.Int(fs, "sessions", 8, 2, 1000, "sessions contending for the lock in the throughput run")
	duration := cli.Duration(fs, "for", 3*time.Second, 100*time.Millisecond, time.Hour,
		"how long each throughput run lasts")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	if err := deleteKeys(ctx, etcd); err != nil { // left by an earlier run against this etcd
		return err
	}
	defer deleteKeys(ctx, etcd) // also after Ctrl-C

	fmt.Fprintf(stderr, "timing %d writes...\n", *nWrites)
	w, err := writes(ctx, etcd, *nWrites, *hold)
	if err != nil {
		return err
	}
	report(stdout, fmt.Sprintf("one etcd write (a Put after %s of quiet, as the holder's Unlock comes)", *hold), w)

	fmt.Fprintf(stderr, "timing %d handoffs of etcd's Mutex, each released at a random moment of etcd's %s resync (about %s)...\n",
		*rounds, resyncPeriod, cli.Seconds(time.Duration(*rounds)*(*hold+resyncPeriod+5*time.Millisecond)))
	mh, err := handoffs(ctx, etcd, etcdMutex, "/handoff/etcd-mutex", *rounds, *hold)
	if err != nil {
		return fmt.Errorf("etcd Mutex handoff: %w", err)
	}
	report(stdout, "etcd concurrency.Mutex handoff (Unlock -> waiter's Lock returns)", mh)

	fmt.Fprintf(stderr, "timing %d handoffs of the workshop's lock the same way (about %s)...\n",
		*rounds, cli.Seconds(time.Duration(*rounds)*(*hold+resyncPeriod/2+5*time.Millisecond)))
	lh, err := handoffs(ctx, etcd, projectLock, "/handoff/lock", *rounds, *hold)
	if err != nil {
		return fmt.Errorf("lock handoff: %w", err)
	}
	report(stdout, "workshop lock handoff (Unlock -> waiter's Lock returns)", lh)

	fmt.Fprintf(stderr, "%d sessions contending, %s per lock...\n", *sessions, *duration)
	m8, err := contended(ctx, etcd, etcdMutex, "/handoff/etcd-mutex", *sessions, *duration, 0, 0)
	if err != nil {
		return fmt.Errorf("etcd Mutex contended: %w", err)
	}
	l8, err := contended(ctx, etcd, projectLock, "/handoff/lock", *sessions, *duration, 0, 0)
	if err != nil {
		return fmt.Errorf("lock contended: %w", err)
	}
	perWrite := w.Percentile(50).Seconds()
	fmt.Fprintf(stdout, "%d sessions contending for %s: etcd Mutex %.0f acquisitions/s, workshop lock %.0f/s\n",
		*sessions, *duration, m8, l8)
	fmt.Fprintf(stdout, "  per write-time (acquisitions/s x write p50): etcd Mutex %.2f, workshop lock %.2f\n\n",
		m8*perWrite, l8*perWrite)

	fmt.Fprint(stdout, why)
	fmt.Fprintf(summary, "summary: write_p50=%s mutex_handoff_p50=%s mutex_handoff_mean=%s lock_handoff_p50=%s mutex_%d=%.0f/s lock_%d=%.0f/s\n",
		Ms(w.Percentile(50)), Ms(mh.Percentile(50)), Ms(mh.Mean()), Ms(lh.Percentile(50)),
		*sessions, m8, *sessions, l8)
	return nil
}

const why = `why: a waiter watches the key just before its own, from a revision.
  etcd's Mutex watches from the revision of its last read (client/v3/concurrency/key.go,
  waitDelete). That revision is not newer than etcd's current one, so etcd files the
  watch as "unsynced" and delivers events to it only in a loop that runs every 100 ms
  (watchResyncPeriod, server/storage/mvcc/watchable_store.go). A holder that lets go at
  a random moment hands off at the loop's next turn: 0 to 100 ms later, 50 on average.
  (If a turn came between the waiter's watch and the Unlock, the watch is synced by then,
  and the handoff is quick.)
  The workshop's lock watches from etcd's current revision: the watch is "synced" and
  gets the delete as soon as etcd applies it.
`

// report prints percentiles, the mean and a histogram of one operation's latencies.
func report(w io.Writer, what string, lat Latencies) {
	fmt.Fprintf(w, "%s, %d samples: p50 %s  p99 %s  mean %s\n", what, len(lat),
		Ms(lat.Percentile(50)), Ms(lat.Percentile(99)), Ms(lat.Mean()))
	lat.Histogram(w, 40)
	fmt.Fprintln(w)
}
