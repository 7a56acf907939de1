// Chapter 03, the article's section 3、etcd分布式锁, its program 实现互斥访问
// (mutual exclusion): chapter 01's counter, but the lock is in etcd. 100
// goroutines stand for 100 processes: each has its own session (its own
// lease), and all of them lock the same name, /my-test-lock.
//
// Where the workshop differs from the article (no hang, no panic, no lease
// left behind), the line says so and why.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

type Counter struct {
	count int
}

func (m *Counter) Incr() {
	m.count++
}

func (m *Counter) Count() int {
	return m.count
}

// countWithLock is the article's main once the client is made: goroutines
// (100) goroutines each increment counter under the etcd lock. counter is an
// interface only so that a test can watch the critical section.
func countWithLock(ctx context.Context, etcd *workshop.Etcd, goroutines int, counter interface{ Incr() }) error {
	var sg sync.WaitGroup
	errs := make(chan error, goroutines) // the article panics; here every goroutine reports
	sg.Add(goroutines)
	for i := 0; i < goroutines; i++ {
		go func() {
			errs <- incrWithLock(ctx, etcd, counter)
			sg.Done()
		}()
	}
	sg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// incrWithLock is the body of the article's goroutine: one process, with a
// session of its own, increments the counter under /my-test-lock.
func incrWithLock(ctx context.Context, etcd *workshop.Etcd, counter interface{ Incr() }) (err error) {
	// 这里会生成租约,默认是60秒 (this grants a lease, 60 s by default)
	session, err := concurrency.NewSession(etcd.Client)
	if err != nil {
		return err
	}
	// Not session.Close(): it revokes with the client's context, which Ctrl-C
	// or -timeout may have ended, and the lease would outlive us by 60 s.
	defer etcd.CloseSession(ctx, session)

	locker := concurrency.NewLocker(session, "/my-test-lock")
	defer workshop.CatchLockerPanic(&err) // Lock and Unlock panic on any etcd error: return it instead
	locker.Lock()
	counter.Incr()
	locker.Unlock()
	return nil
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("03-etcd-lock", stderr)
	flags := workshop.EtcdFlags(fs)
	goroutines := cli.Int(fs, "goroutines", 100, 1, 1000, "goroutines, each with its own etcd session")
	timeout := cli.Duration(fs, "timeout", 30*time.Second, time.Second, time.Hour, "how long the whole run may take")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	// Locker.Lock has no deadline of its own: it waits with the client's
	// context, which is this one. So the whole run gets a deadline.
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()

	counter := &Counter{}
	if err := countWithLock(ctx, etcd, *goroutines, counter); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("not done within -timeout %s: %w", *timeout, err)
		}
		return err
	}
	fmt.Fprintln(stdout, "count:", counter.Count())
	return nil
}
