// Chapter 04, the article's "需要有超时机制" (a lock needs a timeout): what if
// the holder dies without unlocking? The article runs its program in two
// windows and presses Ctrl-C in the first. Here one command does both: a
// holder in a child process (this same program with -plain) takes
// /my-test-lock and is killed with SIGKILL; this process is the second window,
// which gets the lock only when the dead holder's lease runs out. Then it
// works longer than its own TTL and keeps the lock: its session renews the
// lease while the process lives.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

// Counter is the chapters' counter: whoever holds the lock does its work and counts one.
type Counter struct {
	count int
}

func (m *Counter) Incr()      { m.count++ }
func (m *Counter) Count() int { return m.count }

// lockWorkUnlock is the article's program, the one in each of its two
// windows: lock /my-test-lock, work, unlock. It is all a -plain run does.
func lockWorkUnlock(ctx context.Context, etcd *workshop.Etcd, ttl int, work time.Duration, stdout io.Writer) error {
	session, err := etcd.NewSession(ctx, ttl) // a lease of ttl seconds, renewed every ttl/3
	if err != nil {
		return err
	}
	defer etcd.CloseSession(ctx, session) // revokes the lease; a killed process never gets here
	locker := concurrency.NewLocker(session, "/my-test-lock")

	workshop.Logf(stdout, "locking...")
	if err := lockerCall(locker.Lock); err != nil {
		return err
	}
	workshop.Logf(stdout, "locked...")
	select {
	case <-time.After(work): // the article's time.Sleep: the work
	case <-session.Done():
		return errors.New("lost the lock: the session's lease could not be renewed")
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := lockerCall(locker.Unlock); err != nil {
		return err
	}
	workshop.Logf(stdout, "released...")
	return nil
}

// crash is the article's experiment in one command: the holder is killed while
// it holds the lock, and this process, the second window, waits for its lease.
func crash(ctx context.Context, etcd *workshop.Etcd, ttl int, work time.Duration, stdout, stderr io.Writer) error {
	// The first window: this program again with -plain, working far longer than we wait.
	holder, err := workshop.StartChild(ctx, "-plain", "-ttl", strconv.Itoa(ttl), "-work", "1h",
		"-endpoints", strings.Join(etcd.Endpoints, ","), "-dial-timeout", etcd.Timeout.String())
	if err != nil {
		return err
	}
	defer holder.Kill() // reaped whatever happens
	first := workshop.Prefixed(stdout, fmt.Sprintf("[holder pid %d] ", holder.Pid()))
	// Generous: a process start and a connection, maybe under -race on a busy machine.
	line, err := holder.WaitFor("locked...", first, 30*time.Second)
	if err != nil {
		return fmt.Errorf("holder: %w (is another program holding /my-test-lock?)", err)
	}
	fmt.Fprintln(first, line)

	// The second window: the same program, so the same session and locker.
	session, err := etcd.NewSession(ctx, ttl)
	if err != nil {
		return err
	}
	defer etcd.CloseSession(ctx, session) // revoked even after Ctrl-C
	locker := concurrency.NewLocker(session, "/my-test-lock")
	var counter Counter
	workshop.Logf(stdout, "locking...")

	// The article's Ctrl-C in the first window, only harder: SIGKILL runs no
	// deferred Unlock and no lease revoke. The holder's key stays in etcd.
	killed := time.Now()
	holder.Kill()
	fmt.Fprintf(first, "killed (%s): no Unlock, no revoke; its key lives as long as its lease\n", holder.State())

	countdown := etcd.ShowOwnerLease(ctx, "/my-test-lock", workshop.NewLiveLine(stderr))
	err = lockerCall(locker.Lock) // blocks until etcd deletes the dead holder's key with its lease
	countdown()
	if err != nil {
		return err
	}
	waited := time.Since(killed)
	workshop.Logf(stdout, "locked...")
	fmt.Fprintf(stdout, "waited %s after the kill: nobody renewed the holder's %ds lease, so etcd expired it and deleted its key\n",
		workshop.Seconds(waited), ttl)

	// Keepalive: the work may outlast the TTL, and the lock stays ours.
	if err := workLongerThanTTL(ctx, etcd, session, ttl, work, stdout); err != nil {
		return err
	}
	counter.Incr()

	if err := lockerCall(locker.Unlock); err != nil {
		return err
	}
	workshop.Logf(stdout, "released...")
	fmt.Fprintf(stdout, "count: %d\n", counter.Count()) // the holder died before its work counted
	return nil
}

// workLongerThanTTL works for work while another session probes the lock with
// TryLock: every probe must fail, because our session renews its lease every
// ttl/3 for as long as this process lives, however long the work takes.
func workLongerThanTTL(ctx context.Context, etcd *workshop.Etcd, session *concurrency.Session, ttl int, work time.Duration, stdout io.Writer) error {
	renewal := time.Duration(ttl) * time.Second / 3
	if work > time.Duration(ttl)*time.Second {
		fmt.Fprintf(stdout, "working %s, longer than the %ds TTL: the session renews its lease every %s (TTL/3), so the lock stays ours\n",
			work, ttl, workshop.Seconds(renewal))
	} else {
		fmt.Fprintf(stdout, "working %s, within the %ds TTL (try -work %ds to watch the lock outlive its TTL)\n", work, ttl, 3*ttl)
	}
	other, err := etcd.NewSession(ctx, ttl)
	if err != nil {
		return err
	}
	defer etcd.CloseSession(ctx, other)
	probe := concurrency.NewMutex(other, "/my-test-lock")

	start := time.Now()
	done := time.NewTimer(work)
	defer done.Stop()
	// Every half TTL, at least once a second and at most every 10 s: a handful of lines.
	every := min(max(time.Duration(ttl)*time.Second/2, time.Second), 10*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-done.C:
			return nil
		case <-session.Done():
			return errors.New("lost the lock during the work: the session's lease could not be renewed")
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		rctx, cancel := etcd.WithTimeout(ctx)
		err := probe.TryLock(rctx)
		cancel()
		if err == nil {
			return errors.New("another session got the lock while we held it")
		}
		if !errors.Is(err, concurrency.ErrLocked) {
			return fmt.Errorf("probe: %w", err)
		}
		fmt.Fprintf(stdout, "probe %d, %s into the work: another session's TryLock: %v\n",
			n, workshop.Seconds(time.Since(start)), err)
	}
}

func main() { workshop.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := workshop.NewFlagSet("04-timeout", stderr)
	flags := workshop.EtcdFlags(fs)
	ttl := fs.Int("ttl", 60, "session TTL in seconds: how long a dead holder keeps the lock")
	work := fs.Duration("work", 100*time.Second, "how long the lock is held for the work")
	plain := fs.Bool("plain", false, "only the article's program (lock, work, unlock), for two terminals; needs -endpoints")
	if err := workshop.Parse(fs, args); err != nil {
		return err
	}
	if *ttl < 1 {
		return usage(fs, "-ttl must be at least 1 (second)")
	}
	if *plain && len(flags.EndpointList()) == 0 {
		return usage(fs, "-plain needs -endpoints (or $"+workshop.EndpointsEnv+"): both terminals must use the same etcd, and without it each would start its own")
	}
	if *plain {
		// workshop.Main turns Ctrl-C into a clean exit (unlock, revoke). The
		// article's Ctrl-C kills the program where it stands, lock held: give
		// SIGINT its default action back, so the lock stays until the lease expires.
		signal.Reset(os.Interrupt)
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	if *plain {
		return lockWorkUnlock(ctx, etcd, *ttl, *work, stdout)
	}
	return crash(ctx, etcd, *ttl, *work, stdout, stderr)
}

// usage reports a bad combination of flags the way the flag package reports a bad flag.
func usage(fs *flag.FlagSet, msg string) error {
	fmt.Fprintln(fs.Output(), msg)
	fs.Usage()
	return &workshop.UsageError{Err: errors.New(msg)}
}

// lockerCall calls a Locker's Lock or Unlock, which panic on any etcd error.
func lockerCall(f func()) (err error) {
	defer workshop.CatchLockerPanic(&err)
	f()
	return nil
}
