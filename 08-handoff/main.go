// Chapter 08, beyond the article: what an etcd lock costs. Side by side on one
// etcd it times a single write, the handoff of etcd's concurrency.Mutex (the
// holder calls Unlock, a waiter blocked in Lock returns) and the handoff of the
// workshop's own lock (internal/lock), which differs from etcd's Mutex in the
// one revision its waiters watch from.
package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

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

// writes times n Puts, each after a quiet pause, as the holder's Unlock comes
// after it held the lock: the cost of one write, the floor of any handoff
// (the Unlock is a write). Back to back, writes are faster: etcd is warm.
func writes(ctx context.Context, etcd *workshop.Etcd, n int, pause time.Duration) (workshop.Latencies, error) {
	var lat workshop.Latencies
	for i := 0; i < n; i++ {
		time.Sleep(pause)
		rctx, cancel := etcd.WithTimeout(ctx)
		start := time.Now()
		_, err := etcd.Client.Put(rctx, "/handoff/write", fmt.Sprint(i))
		lat = append(lat, time.Since(start))
		cancel()
		if err != nil {
			return nil, err
		}
	}
	return lat, nil
}

// handoffs times n handoffs on pfx: the holder holds the lock, a waiter calls
// Lock; once the waiter's key is in etcd and hold has passed (the waiter is
// blocked in its watch), the holder calls Unlock. A handoff is the time from
// that call until the waiter's Lock returns.
func handoffs(ctx context.Context, etcd *workshop.Etcd, newLock newLock, pfx string, n int, hold time.Duration) (workshop.Latencies, error) {
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
	waiterKey := fmt.Sprintf("%s/%x", pfx, waiterSession.Lease())
	ctx, cancel := context.WithCancel(ctx) // ends the watch below
	defer cancel()
	queued, err := watchPuts(ctx, etcd, waiterKey)
	if err != nil {
		return nil, err
	}

	var lat workshop.Latencies
	for i := 0; i < n; i++ {
		holder, waiter := newLock(holderSession, pfx), newLock(waiterSession, pfx)
		if err := withTimeout(ctx, etcd.Timeout, holder.Lock); err != nil {
			return nil, fmt.Errorf("holder lock: %w", err)
		}
		locked := make(chan error, 1)
		var lockedAt time.Time
		go func() {
			err := withTimeout(ctx, 10*time.Second, waiter.Lock)
			lockedAt = time.Now()
			locked <- err
		}()
		if err := waitFor(ctx, queued, 10*time.Second); err != nil {
			return nil, fmt.Errorf("waiter's key %s never appeared: %w", waiterKey, err)
		}
		time.Sleep(hold) // the waiter is now blocked in its watch

		start := time.Now()
		if err := withTimeout(ctx, etcd.Timeout, holder.Unlock); err != nil {
			return nil, fmt.Errorf("holder unlock: %w", err)
		}
		if err := <-locked; err != nil {
			return nil, fmt.Errorf("waiter lock: %w", err)
		}
		lat = append(lat, lockedAt.Sub(start))
		if err := withTimeout(ctx, etcd.Timeout, waiter.Unlock); err != nil {
			return nil, fmt.Errorf("waiter unlock: %w", err)
		}
	}
	return lat, nil
}

// contended runs sessions goroutines, each with its own session, taking and
// releasing the lock on pfx in a loop for d (or until limit acquisitions, if
// limit > 0), and returns acquisitions per second. It also checks that no two
// ever hold the lock at once.
func contended(ctx context.Context, etcd *workshop.Etcd, newLock newLock, pfx string, sessions int, d time.Duration, limit int64) (float64, error) {
	var acquired, inside atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < sessions; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			session, err := etcd.NewSession(ctx, 60)
			if err != nil {
				errs <- err
				return
			}
			defer etcd.CloseSession(ctx, session)
			m := newLock(session, pfx)
			for time.Now().Before(deadline) && (limit == 0 || acquired.Load() < limit) {
				if err := withTimeout(ctx, 30*time.Second, m.Lock); err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					errs <- fmt.Errorf("two holders of %s at once", pfx)
					return // one error per session: errs never fills up
				}
				if time.Now().Before(deadline) {
					acquired.Add(1)
				}
				inside.Add(-1)
				if err := withTimeout(ctx, etcd.Timeout, m.Unlock); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil { // the first error, if any
		return 0, err
	}
	return float64(acquired.Load()) / min(time.Since(start), d).Seconds(), nil
}

func main() { workshop.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := workshop.NewFlagSet("08-handoff", stderr)
	flags := workshop.EtcdFlags(fs)
	rounds := fs.Int("rounds", 60, "handoffs timed for each lock")
	nWrites := fs.Int("writes", 100, "writes timed")
	hold := fs.Duration("hold", 10*time.Millisecond, "how long the holder keeps the lock once the waiter is queued")
	sessions := fs.Int("sessions", 8, "sessions contending for the lock in the throughput run")
	duration := fs.Duration("for", 3*time.Second, "how long each throughput run lasts")
	if err := workshop.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	if err := clearPrefix(ctx, etcd); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "timing %d writes...\n", *nWrites)
	w, err := writes(ctx, etcd, *nWrites, *hold)
	if err != nil {
		return err
	}
	report(stdout, fmt.Sprintf("one etcd write (Put, after %s of quiet like the Unlock)", *hold), w)

	fmt.Fprintf(stderr, "timing %d handoffs of etcd's Mutex (about 0.1s each)...\n", *rounds)
	mh, err := handoffs(ctx, etcd, etcdMutex, "/handoff/etcd-mutex", *rounds, *hold)
	if err != nil {
		return fmt.Errorf("etcd Mutex handoff: %w", err)
	}
	report(stdout, "etcd concurrency.Mutex handoff (Unlock -> waiter's Lock returns)", mh)

	fmt.Fprintf(stderr, "timing %d handoffs of the workshop's lock...\n", *rounds)
	lh, err := handoffs(ctx, etcd, projectLock, "/handoff/lock", *rounds, *hold)
	if err != nil {
		return fmt.Errorf("lock handoff: %w", err)
	}
	report(stdout, "workshop lock handoff (Unlock -> waiter's Lock returns)", lh)

	fmt.Fprintf(stderr, "%d sessions contending, %s per lock...\n", *sessions, *duration)
	m8, err := contended(ctx, etcd, etcdMutex, "/handoff/etcd-mutex", *sessions, *duration, 0)
	if err != nil {
		return fmt.Errorf("etcd Mutex contended: %w", err)
	}
	l8, err := contended(ctx, etcd, projectLock, "/handoff/lock", *sessions, *duration, 0)
	if err != nil {
		return fmt.Errorf("lock contended: %w", err)
	}
	fmt.Fprintf(stdout, "%d sessions contending for %s: etcd Mutex %.0f acquisitions/s, workshop lock %.0f/s\n\n",
		*sessions, *duration, m8, l8)

	fmt.Fprint(stdout, why)
	fmt.Fprintf(stdout, "summary: write_p50=%s mutex_handoff_p50=%s lock_handoff_p50=%s mutex_%d=%.0f/s lock_%d=%.0f/s\n",
		workshop.Ms(w.Percentile(50)), workshop.Ms(mh.Percentile(50)), workshop.Ms(lh.Percentile(50)),
		*sessions, m8, *sessions, l8)
	return nil
}

const why = `why: a waiter watches the key just before its own, from a revision.
  etcd's Mutex watches from the revision of its last read (client/v3/concurrency/key.go,
  waitDelete). That revision is not newer than etcd's current one, so etcd files the
  watch as "unsynced" and delivers events to it only in a loop that runs every 100 ms
  (watchResyncPeriod, server/storage/mvcc/watchable_store.go).
  The workshop's lock watches from that revision + 1: the watch is "synced" and gets the
  delete at once. It cannot miss it: the key existed at the revision read, so its
  delete has a later one.
`

// report prints percentiles and a histogram of one operation's latencies.
func report(w io.Writer, what string, lat workshop.Latencies) {
	fmt.Fprintf(w, "%s, %d samples: p50 %s  p99 %s\n", what, len(lat),
		workshop.Ms(lat.Percentile(50)), workshop.Ms(lat.Percentile(99)))
	lat.Histogram(w, 40)
	fmt.Fprintln(w)
}

// withTimeout calls f with a context that ends after d.
func withTimeout(ctx context.Context, d time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return f(ctx)
}

// watchPuts delivers an event each time key is put; the watch is in place
// when it returns, so no put is missed. It ends with ctx.
func watchPuts(ctx context.Context, etcd *workshop.Etcd, key string) (<-chan struct{}, error) {
	wch := etcd.Client.Watch(ctx, key, clientv3.WithFilterDelete(), clientv3.WithCreatedNotify())
	created, puts := make(chan struct{}), make(chan struct{}, 1)
	go func() {
		for wr := range wch {
			if wr.Created {
				close(created)
			}
			for range wr.Events {
				puts <- struct{}{}
			}
		}
	}()
	if err := waitFor(ctx, created, etcd.Timeout); err != nil {
		return nil, fmt.Errorf("watch %s: %w", key, err)
	}
	return puts, nil
}

// waitFor waits for one value from ch, up to timeout.
func waitFor(ctx context.Context, ch <-chan struct{}, timeout time.Duration) error {
	select {
	case <-ch:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("nothing within %s", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// clearPrefix removes what an earlier run against the same external etcd left.
func clearPrefix(ctx context.Context, etcd *workshop.Etcd) error {
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	_, err := etcd.Client.Delete(rctx, "/handoff/", clientv3.WithPrefix())
	return err
}
