// The workshop's staging, not the lesson: the article's two windows and its
// Ctrl-C in one command. The first window is this program in a child process;
// the second is this process, running the same lockWorkUnlock while the
// staging watches its lines as you would watch the window.
package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lockview"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// holderRole is the child's hidden mode: the first window, holding the lock until it is killed.
const holderRole = "holder"

const lockName = "/my-test-lock"

// crash plays both windows: the holder takes the lock; once the second window
// has asked for it, the holder is killed with SIGKILL (the article's Ctrl-C,
// only harder); the second window waits for the dead holder's lease, then
// works, and the lock outlives its own TTL.
func crash(ctx context.Context, etcd *workshop.Etcd, ttl int, work time.Duration, stdout, stderr io.Writer) error {
	holder, err := startHolder(ctx, etcd, ttl, stdout)
	if err != nil {
		return err
	}
	defer holder.Stop() // reaped whatever happens; after Ctrl-C it revokes its own lease
	// After Ctrl-C the dead holder's lease would outlive us in a shared etcd.
	defer etcd.RevokeLease(ctx, holder.lease) // one that has expired already is no error worth a line
	if holder.ttl != ttl {
		fmt.Fprintf(stderr, "etcd granted the holder a %ds lease, not %ds: etcd raises a TTL below its minimum\n", holder.ttl, ttl)
		ttl = holder.ttl // the second window's lease is raised too
	}

	var killed, locked time.Time
	stopCountdown, stopProbes := func() {}, func() {}
	defer func() { stopCountdown(); stopProbes() }()
	second := &window{w: stdout,
		after: func(line string) {
			switch {
			case strings.HasPrefix(line, "locking..."):
				killed = time.Now()
				holder.Kill() // no deferred Unlock, no lease revoke: its key stays in etcd
				fmt.Fprintf(holder.out, "killed (%s): no Unlock, no revoke; its key stays until its lease expires\n", holder.State())
				stopCountdown = countDown(ctx, etcd, holder.lease, stderr)
			case strings.HasPrefix(line, "locked..."):
				fmt.Fprintf(stdout, "waited %s after the kill: nobody renewed the holder's %ds lease, so etcd expired it and deleted its key\n",
					cli.Seconds(locked.Sub(killed)), holder.ttl)
				stopProbes = showKeepalive(ctx, etcd, ttl, work, stdout)
			}
		},
		before: func(line string) {
			switch {
			case strings.HasPrefix(line, "locked..."):
				locked = time.Now()
				stopCountdown() // its last line comes before "locked..."
			case strings.HasPrefix(line, "released..."):
				stopProbes()
			}
		},
	}
	return lockWorkUnlock(ctx, etcd, ttl, work, second)
}

// holder is the first window: this program in a child process, holding the lock.
type holder struct {
	*proc.Child
	out   io.Writer        // its lines, labelled [holder pid N]
	lease clientv3.LeaseID // the lease of its key
	ttl   int              // the lease's TTL as etcd granted it
}

// startHolder starts the first window and returns once it holds the lock.
func startHolder(ctx context.Context, etcd *workshop.Etcd, ttl int, stdout io.Writer) (*holder, error) {
	// In a shared etcd another program may hold the lock: the holder must be first in line.
	if err := lockview.MustBeFree(ctx, etcd, lockName); err != nil {
		return nil, err
	}
	child, err := proc.StartAs(ctx, holderRole, append([]string{"-ttl", strconv.Itoa(ttl)}, etcd.ChildFlags()...)...)
	if err != nil {
		return nil, err
	}
	h := &holder{Child: child, out: cli.Prefixed(stdout, fmt.Sprintf("[holder pid %d] ", child.Pid()))}
	// Generous: a process start and a connection, maybe under -race on a busy machine.
	line, err := h.WaitFor("locked...", h.out, 30*time.Second)
	if err != nil {
		h.Stop()
		return nil, fmt.Errorf("the holder (pid %d) did not take %s: %w", h.Pid(), lockName, err)
	}
	fmt.Fprintln(h.out, line)
	if err := h.readLease(ctx, etcd); err != nil {
		h.Stop() // not Kill: it revokes its lease on the way out
		return nil, err
	}
	return h, nil
}

// readLease notes the lease of the holder's key, and its TTL as etcd granted
// it: etcd raises a TTL below its minimum.
func (h *holder) readLease(ctx context.Context, etcd *workshop.Etcd) error {
	owner, err := lockview.Owner(ctx, etcd, lockName)
	if err != nil {
		return err
	}
	if owner == nil {
		return fmt.Errorf("the holder (pid %d) said it locked %s, but the lock has no owner", h.Pid(), lockName)
	}
	h.lease = clientv3.LeaseID(owner.Lease)
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := etcd.Client.TimeToLive(rctx, h.lease)
	if err != nil {
		return fmt.Errorf("read the holder's lease: %w", err)
	}
	h.ttl = int(resp.GrantedTTL)
	return nil
}

// countDown shows on stderr how long the dead holder's lease has left, as etcd
// reports it, until the returned stop is called.
func countDown(ctx context.Context, etcd *workshop.Etcd, lease clientv3.LeaseID, stderr io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lockview.Countdown(ctx, etcd, lease, cli.NewLiveLine(stderr), "the dead holder")
	}()
	return sync.OnceFunc(func() { cancel(); <-done })
}
