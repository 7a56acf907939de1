package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"etcd-lock-workshop/internal/workshop"
)

// contended runs sessions goroutines, each with its own session, taking and
// releasing the lock on pfx in a loop for d (or until limit acquisitions, if
// limit > 0), and returns acquisitions per second. It also checks that no two
// ever hold the lock at once; each holds it for hold (0 to time the lock
// alone; a test holds it a while, so that a second holder would be inside too).
func contended(ctx context.Context, etcd *workshop.Etcd, newLock newLock, pfx string, sessions int, d, hold time.Duration, limit int64) (float64, error) {
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
				time.Sleep(hold)
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
