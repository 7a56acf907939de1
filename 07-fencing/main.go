// Chapter 07, beyond the article. Its lock (3、etcd分布式锁) frees itself when
// its holder dies: the lease runs out (实现超时机制, chapter 04). The dark side:
// a holder that only stalls past its TTL (a long GC pause, a stopped process,
// a network cut) loses the lock without knowing it, the next client takes it,
// and the first one wakes up and writes anyway. Three acts, the same two
// clients, one shared count:
//  1. no fence: A's stale write overwrites B's: a lost update;
//  2. a fence inside etcd: every write is a transaction If(mutex.IsOwner());
//  3. a fence outside etcd: the lock's revision is a token the storage checks.
//
// The roles have files of their own: holder.go (lock, read, write through a
// fence), internal/fence (act 3's storage, its fence one if), client_a.go (A, a
// process of its own so that it can really freeze); plumbing.go is the stage.
package main

import (
	"context"
	"fmt"
	"io"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lockview"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// play is one act, in the order it happens: A locks, reads and stalls; B
// locks once A's lease has expired, and increments; A resumes and writes
// through the act's fence. Then the referee compares the count with the
// increments that were accepted.
func (act *Act) play(ctx context.Context, stderr io.Writer) error {
	closeStage, err := act.setStage(ctx) // count=0, in etcd or (act 3) in the storage
	if err != nil {
		return err
	}
	defer closeStage()

	// A locks, reads, looks at its session, and stalls: its process frozen
	// (SIGSTOP, or NtSuspendProcess on Windows), keepalives and all.
	a, err := startStalledClientA(ctx, act)
	if err != nil {
		return err
	}
	defer a.stop() // on every path: no frozen A outlives the act, and its lease goes

	// B's Lock returns once A's lease has expired and etcd has deleted A's
	// key; meanwhile stderr counts A's lease down.
	stopCountdown := lockview.OwnerCountdown(ctx, act.etcd, lockName, cli.NewLiveLine(stderr))
	b, err := act.Lock(ctx, "B")
	stopCountdown()
	if err != nil {
		return err
	}
	cli.Logf(act.out, "B: locked %s (token %d): A's lease has expired", lockName, b.Token)
	err = b.Incr(ctx, func() {})
	b.Unlock(ctx)
	if err != nil {
		return err
	}
	cli.Logf(act.out, "B: unlocked")

	// A wakes up and writes what it read, plus one: taken, or refused by the fence.
	aWrote, err := a.resume()
	if err != nil {
		return err
	}

	accepted := 1 // B's
	if aWrote {
		accepted++
	}
	count, err := act.count(ctx)
	if err != nil {
		return err
	}
	if count < accepted {
		fmt.Fprintf(act.out, "lost update: count=%d after %d accepted increments: A's stale write overwrote B's\n", count, accepted)
	} else {
		fmt.Fprintf(act.out, "no update lost: count=%d after %d accepted increment: A's stale write was refused\n", count, accepted)
	}
	return nil
}

// The three acts: the same play, with a different fence.
var acts = []struct {
	fence Fence
	title string
}{
	{NoFence, "no fence: the stalled holder writes after losing the lock"},
	{EtcdFence, "fence inside etcd: every write is Txn If(mutex.IsOwner())"},
	{TokenFence, "fence outside etcd: the storage refuses tokens lower than the highest it has seen"},
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if proc.Role() == clientARole {
		return runClientA(ctx, args, stdout, stderr)
	}
	fs := cli.NewFlagSet("07-fencing", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	ttl := cli.Int(fs, "ttl", 2, 1, 60, "lease TTL in seconds: how long a stalled holder keeps the lock (etcd's minimum: 1 embedded, 2 with default settings)")
	only := cli.Int(fs, "act", 0, 0, len(acts), "play only this act; 0 plays all three")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	// In a shared etcd another program may hold the lock: A must be first in line.
	if err := lockview.MustBeFree(ctx, etcd, lockName); err != nil {
		return err
	}
	defer deleteRecord(ctx, etcd) // a shared etcd keeps nothing of ours, also after Ctrl-C

	for i, a := range acts {
		if *only != 0 && *only != i+1 {
			continue
		}
		if i > 0 && *only == 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "== act %d, %s\n", i+1, a.title)
		act := &Act{etcd: etcd, fence: a.fence, ttl: *ttl, out: stdout}
		if err := act.play(ctx, stderr); err != nil {
			return fmt.Errorf("act %d: %w", i+1, err)
		}
	}
	return nil
}
