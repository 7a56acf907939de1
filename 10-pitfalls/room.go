package main

// Plumbing: the critical section the holders of a pitfall share, watched.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Room is a critical section, watched: how many holders are inside now and
// the most at once, and a count they increment in two steps (read it, write
// it plus one later), as any read-modify-write does. Two holders inside at
// once lose an update.
type Room struct {
	p            *Play
	ctx          context.Context
	workers      int
	inside, most atomic.Int32
	count        atomic.Int64
	writes       atomic.Int32

	mu      sync.Mutex    // orders the lines of holders that come in together
	arrived int           // workers that have come in, now or before
	changed chan struct{} // closed (and replaced) when one more arrives
}

// NewRoom returns an empty room with the count at 0, for workers goroutines.
func (p *Play) NewRoom(ctx context.Context, workers int) *Room {
	return &Room{p: p, ctx: ctx, workers: workers, changed: make(chan struct{})}
}

// Enter is the first thing a holder does inside; it returns how many are in.
func (r *Room) Enter() int {
	n := r.inside.Add(1)
	for m := r.most.Load(); n > m && !r.most.CompareAndSwap(m, n); m = r.most.Load() {
	}
	return int(n)
}

// Leave is the last thing a holder does inside.
func (r *Room) Leave() { r.inside.Add(-1) }

// Most is the most holders that were ever inside at once.
func (r *Room) Most() int { return int(r.most.Load()) }

// Read and Write are the two steps of an increment.
func (r *Room) Read() int64   { return r.count.Load() }
func (r *Room) Write(n int64) { r.count.Store(n); r.writes.Add(1) }

// Count is the count now; Writes, how many increments wrote it.
func (r *Room) Count() int64 { return r.count.Load() }
func (r *Room) Writes() int  { return int(r.writes.Load()) }

// holders says n holders: "1 holder", "3 holders".
func holders(n int) string {
	if n == 1 {
		return "1 holder"
	}
	return fmt.Sprintf("%d holders", n)
}

// Worker is one of the goroutines of Goroutines.
type Worker struct {
	room *Room
	err  error // Incr's, if the others never came
}

// Goroutines runs f in n goroutines and returns once all are done, with their errors.
func (r *Room) Goroutines(n int, f func(w *Worker) error) error {
	errs := make([]error, n)
	var done sync.WaitGroup
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			w := &Worker{room: r}
			err := f(w)
			errs[i] = errors.Join(w.err, err)
		}()
	}
	done.Wait()
	return errors.Join(errs...)
}

// Incr is a worker's critical section: it reads the count, waits until
// every other worker has either come in too or is queued behind it in etcd,
// then writes the count plus one. So a lock that lets several holders in
// has them all inside at once, every time, and the count shows it; a lock
// that works lets them in one by one, as they queue.
func (w *Worker) Incr(key string) {
	r := w.room
	r.mu.Lock()
	inside := r.Enter()
	n := r.Read()
	r.p.Logf("locked %s, read count=%d (%d inside)", key, n, inside)
	r.arrived++
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	defer r.Leave()
	if w.err = r.waitForOthers(); w.err != nil {
		return
	}
	r.Write(n + 1)
	r.p.Logf("wrote count=%d", n+1)
}

// waitForOthers waits until the workers that have come in and the keys
// queued under the lock (all but the holder's own) make all the workers.
func (r *Room) waitForOthers() error {
	cli := r.p.etcd.Client
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		arrived, changed := r.arrived, r.changed
		r.mu.Unlock()
		rctx, cancel := r.p.etcd.WithTimeout(r.ctx)
		resp, err := cli.Get(rctx, lockName+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		if err != nil {
			return err
		}
		if arrived+max(int(resp.Count)-1, 0) >= r.workers {
			return nil
		}
		wctx, stop := context.WithCancel(r.ctx)
		keys := cli.Watch(wctx, lockName+"/", clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		select {
		case <-keys:
		case <-changed:
		case <-deadline.C:
			stop()
			return fmt.Errorf("the other goroutines did not reach the lock within %s", patience)
		case <-r.ctx.Done():
			stop()
			return r.ctx.Err()
		}
		stop()
	}
}
