// Chapter 03, the article's "etcd分布式锁": the counter of chapter 02, but the
// lock is in etcd. 100 goroutines stand for 100 processes: each has its own
// session (its own lease), and all of them lock the same name.
package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

// Counter is the plain counter; the etcd lock, not a sync.Mutex, protects it.
type Counter struct {
	count int
}

func (m *Counter) Incr()      { m.count++ }
func (m *Counter) Count() int { return m.count }

// countWithLock is the article's program: every goroutine opens a session and
// takes concurrency.NewLocker(session, "/my-test-lock") around its work.
func countWithLock(ctx context.Context, etcd *workshop.Etcd, goroutines int, work func(*Counter)) (int, error) {
	var counter Counter
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			session, err := etcd.NewSession(ctx, 60)
			if err != nil {
				errs <- err
				return
			}
			defer etcd.CloseSession(ctx, session) // revokes the lease, even after Ctrl-C
			locker := concurrency.NewLocker(session, "/my-test-lock")
			errs <- func() (err error) {
				defer workshop.CatchLockerPanic(&err) // Lock and Unlock panic on any etcd error
				locker.Lock()
				work(&counter)
				locker.Unlock()
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return counter.Count(), err
		}
	}
	return counter.Count(), nil
}

func main() { workshop.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := workshop.NewFlagSet("03-etcd-lock", stderr)
	flags := workshop.EtcdFlags(fs)
	goroutines := fs.Int("goroutines", 100, "goroutines, each with its own etcd session")
	if err := workshop.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()

	count, err := countWithLock(ctx, etcd, *goroutines, (*Counter).Incr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "count: %d\n", count)
	return nil
}
