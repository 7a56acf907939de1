// Chapter 04, the article's section 实现超时机制 (a lock that times out):
// what if the program holding the lock dies without Unlock? Its key stays in
// etcd until its lease runs out, one TTL after the last renewal; and while the
// program lives, its session renews the lease, however long the work takes.
//
// lockWorkUnlock is the article's program. The article runs it in two windows
// and presses Ctrl-C in the first while it holds the lock. `go run
// ./04-timeout` stages that in one command (staging_crash.go: the first window
// is this program in a child process, killed with SIGKILL); -plain runs the
// article's program alone, for its two windows by hand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
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

// lockWorkUnlock is the article's program: lock /my-test-lock, work, count, unlock.
func lockWorkUnlock(ctx context.Context, etcd *workshop.Etcd, ttl int, work time.Duration, stdout io.Writer) (err error) {
	counter := &Counter{}

	// The article's concurrency.NewSession(client) has a 60 s lease: here -ttl, granted within a deadline.
	session, err := etcd.NewSession(ctx, ttl)
	if err != nil {
		return err
	}
	// The article's session.Close() revokes with the session's ctx, which Ctrl-C cancels: this revokes
	// anyway. A process killed with SIGKILL runs neither: its lease lives on until it expires.
	defer etcd.CloseSession(ctx, session)

	locker := concurrency.NewLocker(session, "/my-test-lock")
	defer workshop.CatchLockerPanic(&err) // Lock and Unlock panic on any etcd error, Ctrl-C too: an error instead
	fmt.Fprintln(stdout, "locking...", time.Now().Format("2006-01-02 15:04:05"))
	locker.Lock() // waits while an older key holds the lock: a live holder's, or a dead one's until its lease expires
	fmt.Fprintln(stdout, "locked...", time.Now().Format("2006-01-02 15:04:05"))
	// 模拟业务: the article's time.Sleep(100 * time.Second), which here also ends on Ctrl-C or a lost lease.
	select {
	case <-time.After(work):
	case <-session.Done(): // the keepalive failed: the lease, and the lock with it, may be gone
		return errors.New("lost the lock during the work: its lease could not be renewed")
	case <-ctx.Done():
		return ctx.Err()
	}
	counter.Incr()
	locker.Unlock()
	fmt.Fprintln(stdout, "released...", time.Now().Format("2006-01-02 15:04:05"))

	fmt.Fprintln(stdout, "count:", counter.Count())
	return nil
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if proc.Role() == "" {
		stdout, stderr = cli.Wrap(stdout), cli.Wrap(stderr) // for the projector: no line over 100 columns
	}
	fs := cli.NewFlagSet("04-timeout", stderr)
	flags := workshop.EtcdFlags(fs)
	ttl := cli.Int(fs, "ttl", 60, 1, 600, "the session's lease in seconds, 60 in the article: how long a dead holder keeps the lock "+
		"(etcd raises a TTL below its minimum: 1 s embedded, 2 s for an etcd with default settings)")
	work := cli.Duration(fs, "work", 100*time.Second, 0, time.Hour, "how long the work holds the lock, 100s in the article")
	plain := fs.Bool("plain", false, "run only the article's program, for its two windows by hand; needs -endpoints")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *plain && len(flags.EndpointList()) == 0 {
		return cli.BadValue(fs, "-plain needs -endpoints (or $%s): both windows must use one etcd, and without it each would start its own", workshop.EndpointsEnv)
	}
	if *plain {
		// The article's Ctrl-C kills the program where it stands, lock held; cli.Main would
		// catch it to clean up. SIGINT gets its default action back (SIGHUP, SIGTERM still clean up).
		signal.Reset(os.Interrupt)
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()

	switch {
	case proc.Role() == holderRole:
		return lockWorkUnlock(ctx, etcd, *ttl, time.Hour, stdout) // killed long before the hour is up
	case *plain:
		return lockWorkUnlock(ctx, etcd, *ttl, *work, plainWindow(ctx, etcd, *work, stdout, stderr))
	default:
		return crash(ctx, etcd, *ttl, *work, stdout, stderr)
	}
}
