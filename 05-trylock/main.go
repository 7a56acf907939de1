// Chapter 05, the article's section 实现阻塞和非阻塞接口 (a blocking and a
// non-blocking way to ask for the lock): concurrency.NewMutex has Lock, which
// waits in line (chapters 03 and 04), and TryLock, which answers at once: the
// lock, or concurrency.ErrLocked ("mutex: Locked by another session").
//
// tryLock is the article's TryLock program. The article runs it in two
// windows: the first takes the lock and works, the second fails at once.
// `go run ./05-trylock` stages that in one command (staging.go: the second
// window is this program in a child process); -plain runs the article's
// program alone, for its two windows by hand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

// Counter is the article's counter: the holder of the lock counts its work.
type Counter struct {
	count int
}

func (m *Counter) Incr() {
	m.count++
}

func (m *Counter) Count() int {
	return m.count
}

// tryLock is the article's TryLock program: take /my-test-lock if it is free,
// work, count, unlock; if another session holds it, say so and give up at once.
func tryLock(ctx context.Context, etcd *workshop.Etcd, work time.Duration, stdout io.Writer) error {
	counter := &Counter{}

	// The article's concurrency.NewSession(client): a 60 s lease, here granted within a deadline.
	session, err := etcd.NewSession(ctx, 60)
	if err != nil {
		return err
	}
	// The article's session.Close() revokes with the session's ctx, which Ctrl-C cancels: this revokes anyway.
	defer etcd.CloseSession(ctx, session)

	// 此处使用newMutex初始化: a Mutex, not a Locker, has TryLock.
	locker := concurrency.NewMutex(session, "/my-test-lock")
	fmt.Fprintln(stdout, "locking...", time.Now().Format("2006-01-02 15:04:05"))
	tctx, cancel := etcd.WithTimeout(ctx) // the article's context.Background() has no deadline
	err = locker.TryLock(tctx)            // one Txn: our key is the oldest, or it is deleted again: ErrLocked
	cancel()
	// 获取锁失败就抛错
	if errors.Is(err, concurrency.ErrLocked) {
		fmt.Fprintln(stdout, "lock failed", err)
		return err
	}
	if err != nil { // no answer from etcd is not the answer "locked": an error, exit status 1
		return fmt.Errorf("TryLock /my-test-lock: %w", err)
	}
	fmt.Fprintln(stdout, "locked...", time.Now().Format("2006-01-02 15:04:05"))
	// The article's time.Sleep(100 * time.Second), which here also ends on Ctrl-C or a lost lease.
	select {
	case <-time.After(work):
	case <-session.Done(): // the keepalive failed: the lease, and the lock with it, may be gone
		return errors.New("lost the lock during the work: its lease could not be renewed")
	case <-ctx.Done():
		return ctx.Err() // the deferred revoke deletes our key: the lock is free
	}
	counter.Incr()
	uctx, cancel := etcd.WithTimeout(ctx) // the article's context.Background() has no deadline
	err = locker.Unlock(uctx)
	cancel()
	if err != nil { // the article prints "unlock failed" and exits 0: here one line, exit status 1
		return fmt.Errorf("unlock failed: %w", err)
	}
	fmt.Fprintln(stdout, "released...", time.Now().Format("2006-01-02 15:04:05"))

	fmt.Fprintln(stdout, "count:", counter.Count())
	return nil
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("05-trylock", stderr)
	flags := workshop.EtcdFlags(fs)
	plain := fs.Bool("plain", false, "run only the article's program, for its two windows by hand; needs -endpoints")
	hold := cli.Duration(fs, "hold", 30*time.Second, 0, time.Hour, "with -plain: how long the work holds the lock, 100s in the article")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *plain && len(flags.EndpointList()) == 0 {
		return cli.BadValue(fs, "-plain needs -endpoints (or $%s): both windows must use one etcd, and without it each would start its own", workshop.EndpointsEnv)
	}
	if !*plain && isSet(fs, "hold") {
		return cli.BadValue(fs, "-hold goes with -plain: in the one-command run, the first window holds the lock while the second tries it")
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()

	if !*plain {
		return bothWindows(ctx, etcd, stdout, stderr)
	}
	err = tryLock(ctx, etcd, *hold, plainWindow(*hold, stdout, stderr))
	if errors.Is(err, concurrency.ErrLocked) {
		return nil // as in the article, "lock failed" is an answer, not a crash: exit status 0
	}
	return err
}
