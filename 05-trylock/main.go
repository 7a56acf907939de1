// Chapter 05, the article's "需要有阻塞和非阻塞两种请求锁的接口" (a blocking and a
// non-blocking way to ask for the lock), met by its TryLock program:
// concurrency.NewMutex can also try the lock and give up at once instead of
// waiting in line. One command plays the
// article's two terminals: this process takes /my-test-lock, a second process
// (this same program with -plain) tries it and fails at once, and after the
// release the second process tries again and gets it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

// tryLock is the article's TryLock program: take /my-test-lock if it is free,
// do the work, release it; if another session holds it, say so and give up
// at once (concurrency.ErrLocked) rather than wait as Lock would.
func tryLock(ctx context.Context, etcd *workshop.Etcd, stdout io.Writer, work func() error) error {
	session, err := etcd.NewSession(ctx, 60)
	if err != nil {
		return err
	}
	defer etcd.CloseSession(ctx, session) // revokes the lease, even after Ctrl-C
	m := concurrency.NewMutex(session, "/my-test-lock")

	start := time.Now()
	tctx, cancel := etcd.WithTimeout(ctx)
	err = m.TryLock(tctx) // one Txn: our key is the oldest, or it is deleted again and we get ErrLocked
	cancel()
	if errors.Is(err, concurrency.ErrLocked) {
		workshop.Logf(stdout, "lock failed %v (TryLock took %s)", err, time.Since(start).Round(time.Millisecond))
		return err
	}
	if err != nil {
		return fmt.Errorf("TryLock /my-test-lock: %w", err)
	}
	workshop.Logf(stdout, "locked...")

	workErr := work()
	// Not ctx: after Ctrl-C during the work, the lock must still be released.
	uctx, cancel := etcd.WithTimeout(context.WithoutCancel(ctx))
	defer cancel()
	if err := m.Unlock(uctx); err != nil {
		return fmt.Errorf("unlock /my-test-lock: %w", err)
	}
	workshop.Logf(stdout, "released...")
	return workErr
}

// bothOutcomes is the article's two terminals in one command. Terminal 1 (this
// process) holds the lock while terminal 2 (another process) tries it: it
// fails. Terminal 1 releases; terminal 2 tries again: it succeeds.
func bothOutcomes(ctx context.Context, etcd *workshop.Etcd, stdout, stderr io.Writer) error {
	err := tryLock(ctx, etcd, workshop.Prefixed(stdout, "[terminal 1] "), func() error {
		return terminal2(ctx, etcd, stdout, stderr, "lock failed")
	})
	if err != nil {
		return err
	}
	return terminal2(ctx, etcd, stdout, stderr, "released...")
}

func main() { workshop.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := workshop.NewFlagSet("05-trylock", stderr)
	flags := workshop.EtcdFlags(fs)
	plain := fs.Bool("plain", false, "run only the article's program: TryLock, hold the lock for -hold, unlock (run it in two terminals with -endpoints)")
	hold := fs.Duration("hold", 30*time.Second, "with -plain: how long to hold the lock once it is taken")
	if err := workshop.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()

	if !*plain {
		return bothOutcomes(ctx, etcd, stdout, stderr)
	}
	err = tryLock(ctx, etcd, stdout, func() error { return sleep(ctx, *hold) })
	if errors.Is(err, concurrency.ErrLocked) {
		return nil // like the article: "lock failed" is the answer, not a crash
	}
	return err
}

// terminal2 runs this program again with -plain against the same etcd, copies
// its lines to stdout, and returns once it has printed want and exited.
func terminal2(ctx context.Context, etcd *workshop.Etcd, stdout, stderr io.Writer, want string) error {
	child, err := workshop.StartChild(ctx, "-plain", "-hold", "0s",
		"-endpoints", strings.Join(etcd.Endpoints, ","), "-dial-timeout", etcd.Timeout.String())
	if err != nil {
		return err
	}
	defer child.Kill() // reaped whatever happens
	fmt.Fprintf(stderr, "terminal 2: started 05-trylock -plain (pid %d)\n", child.Pid())
	out := workshop.Prefixed(stdout, "[terminal 2] ")
	// Generous: a process start and a connection, possibly under -race on a busy machine.
	line, err := child.WaitFor(want, out, 30*time.Second)
	if err != nil {
		return fmt.Errorf("terminal 2: %w", err)
	}
	fmt.Fprintln(out, line)
	if err := child.Wait(); err != nil {
		return fmt.Errorf("terminal 2 (pid %d): %w", child.Pid(), err)
	}
	return nil
}

// sleep waits for d, or until Ctrl-C.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("interrupted while holding the lock: %w", ctx.Err())
	}
}
