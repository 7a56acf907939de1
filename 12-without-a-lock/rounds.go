package main

// What the workshop adds around the three ways: the command line, rounds of
// goroutines that start at once, and the measured table.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

// way is one way to add one to the counter, and how many times it had to
// start again because another goroutine wrote first.
type way struct {
	name string
	incr func(ctx context.Context, etcd *workshop.Etcd, times int) (retries int, err error)
}

var ways = []way{
	{"the Locker (03)", incrWithLocker},
	{"a transaction (compare-and-swap)", incrWithTxn},
	{"STM (serializable)", incrWithSTM},
}

// levels are the contention the table compares: 100 increments in all, by
// 1 goroutine 100 times, by 10 goroutines 10 times each, by 100 once each.
var levels = []int{1, 10, 100}

const increments = 100

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("12-without-a-lock", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	timeout := cli.Duration(fs, "timeout", 2*time.Minute, time.Second, time.Hour, "how long the counting may take, once etcd has answered")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr) // within -dial-timeout
	if err != nil {
		return err
	}
	defer etcd.Close()
	// Lock waits with its context, and a retry loop has no end of its own.
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	defer deleteCounter(ctx, etcd) // the key is this chapter's: leave etcd as found

	all := levels
	results := make([][]result, len(ways))
	progress := cli.NewLiveLine(stderr)
	for i, w := range ways {
		for _, n := range all {
			progress.Update("counting: %s, %d x %d (goroutines x increments)", w.name, n, increments/n)
			r, err := round(ctx, etcd, w, n)
			if err != nil {
				progress.Done()
				which := fmt.Sprintf("%s, %d x %d", w.name, n, increments/n)
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("%s: not done within -timeout %s; try a longer one", which, *timeout)
				}
				return fmt.Errorf("%s: %w", which, err)
			}
			results[i] = append(results[i], r)
		}
	}
	progress.Done()
	fmt.Fprintf(stdout, "%d goroutines, each adding one:\n", levels[len(levels)-1])
	for i, w := range ways {
		fmt.Fprintf(stdout, "%-34s count: %d\n", w.name+":", results[i][len(all)-1].count)
	}
	fmt.Fprintf(stdout, "\n%-34s", "goroutines x increments")
	for _, n := range all {
		fmt.Fprintf(stdout, " %17s", fmt.Sprintf("%d x %d", n, increments/n))
	}
	fmt.Fprintln(stdout, "\nincrements per second (retries):")
	for i, w := range ways {
		fmt.Fprintf(stdout, "%-34s", w.name)
		for _, r := range results[i] {
			fmt.Fprintf(stdout, " %17s", fmt.Sprintf("%.0f/s (%d)", float64(increments)/r.elapsed.Seconds(), r.retries))
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintln(stdout, "\nfor a value in etcd, a transaction is simpler: no session, no lease, nothing left to clean up;")
	fmt.Fprintln(stdout, "its retries grow with the square of the writers of one key, a lock's queue does not;")
	fmt.Fprintln(stdout, "etcd's lock is for what etcd cannot guard: a file, an API, work too long for one transaction")
	return nil
}

type result struct {
	count, retries int
	elapsed        time.Duration
}

// round starts goroutines at once on a counter that does not exist yet,
// together adding one increments times by w, and reads the count at the end.
// The first goroutine to fail fails the round, and stops the others.
func round(ctx context.Context, etcd *workshop.Etcd, w way, goroutines int) (result, error) {
	if err := deleteCounter(ctx, etcd); err != nil {
		return result{}, err
	}
	incrCtx, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	var failed error // the first goroutine's: the others' (stopped by it, or out of time too) only repeat it
	start := make(chan struct{})
	retries := make([]int, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			<-start
			var err error
			retries[i], err = w.incr(incrCtx, etcd, increments/goroutines)
			if err != nil {
				mu.Lock()
				if failed == nil {
					failed = err
					stop()
				}
				mu.Unlock()
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	r := result{elapsed: time.Since(began)}
	if failed != nil {
		return r, failed
	}
	for _, n := range retries {
		r.retries += n
	}
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := etcd.Client.Get(rctx, counterKey)
	if err != nil {
		return r, err
	}
	r.count = count(resp.Kvs)
	if r.count != increments { // a way that loses updates fails the run, loudly
		return r, fmt.Errorf("count: %d after %d increments: %d lost", r.count, increments, increments-r.count)
	}
	return r, nil
}

func deleteCounter(ctx context.Context, etcd *workshop.Etcd) error {
	return etcd.Remove(ctx, counterKey) // after Ctrl-C too
}
