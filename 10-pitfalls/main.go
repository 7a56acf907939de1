// Chapter 10, beyond the article: the mistakes people make with etcd locks.
// Each one comes from etcd's issue tracker, and each one is shown twice
// against a real etcd: first the program that makes the mistake, going wrong
// on purpose, every time; then the same program fixed. Each pitfall's file
// holds both programs, the broken one first. The run ends with a table:
// what went wrong, and whether the fix worked.
package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// lockName is the article's lock, used by every pitfall in turn.
const lockName = "/my-test-lock"

// pitfalls, in the order they are shown. Name is what `go run ./10-pitfalls
// NAME` takes; Fix is the one line a learner should take away.
var pitfalls = []Pitfall{
	{
		Name:  "shared-session",
		Issue: "etcd-io/etcd#11360",
		Title: "goroutines share one session",
		Fix:   "one session per contender (or, inside one process, a sync.Mutex in front of the etcd lock)",
		Play:  playSharedSession,
	},
	{
		Name:  "no-deadline",
		Issue: "etcd-io/etcd#18082",
		Title: "no deadline on NewSession or Lock",
		Fix:   "a deadline on every request (Grant, Lock, Unlock) and the session tied to the program's context",
		Play:  playNoDeadline,
	},
	{
		Name:  "locker-panics",
		Issue: "etcd's client/v3/concurrency/mutex.go, lockerMutex",
		Title: "NewLocker's Lock and Unlock panic on any error",
		Fix:   "NewMutex and Lock(ctx): an error comes back as an error",
		Play:  playLockerPanics,
	},
	{
		Name:  "retried-unlock",
		Issue: "etcd-io/etcd#22082",
		Title: "a retried Unlock deletes the same session's next lock",
		Fix:   "delete the key only while its create revision is the one you locked with (internal/lock)",
		Play:  playRetriedUnlock,
	},
	{
		Name:  "expired-while-waiting",
		Issue: "etcd-io/etcd#19597",
		Title: "a waiter whose lease expired keeps waiting",
		Fix:   "end the wait with the session (Lock(session.Ctx()), which ends when session.Done() closes), or a lock that watches its own key (internal/lock)",
		Play:  playExpiredWhileWaiting,
	},
	{
		Name:  "work-outlives-lease",
		Issue: "etcd-io/etcd#10811",
		Title: "the work goes on after the lease is gone",
		Fix:   "look at session.Done() before each write, and fence the write itself (07-fencing): a look cannot see a pause that comes after it",
		Play:  playWorkOutlivesLease,
	},
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if proc.Role() == "" {
		stdout, stderr = cli.Wrap(stdout), cli.Wrap(stderr) // for the projector: no line over 100 columns
	}
	fs := cli.NewFlagSet("10-pitfalls", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	wait := cli.Duration(fs, "wait", 3*time.Second, time.Second, time.Minute,
		"how long a pitfall shows a call stuck before it moves on (no-deadline, expired-while-waiting)")
	chosen, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()

	var shown []Shown
	for _, pitfall := range chosen {
		outcome, err := show(ctx, etcd, pitfall, *wait, stdout, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", pitfall.Name, err)
		}
		shown = append(shown, Shown{pitfall, outcome})
	}
	fmt.Fprintln(stdout)
	printTable(stdout, shown)
	return notAsExpected(shown)
}
