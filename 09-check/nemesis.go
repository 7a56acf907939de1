package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/workshop"
)

// The nemeses (Jepsen's word for the fault injector): each injects one kind
// of fault while the clients work, and notes in the history what it did.

// nemesis is one kind of fault.
type nemesis struct {
	name  string
	about string
	// victim: it stops or kills client 0, which then runs in a process of
	// its own and stalls right after a read, so that the fault always hits
	// a holder between its read and its write.
	victim bool
	// members: it needs to stop and start etcd's members.
	members bool
	// inject injects the fault and undoes it; it says in a few words what
	// it did. nil: coming.
	inject func(ctx context.Context, a *attack) (string, error)
}

var nemeses = []*nemesis{
	{name: "none", about: "no fault", inject: func(context.Context, *attack) (string, error) { return "", nil }},
	{name: "pause", about: "SIGSTOP a holder right after it reads, past its lease's TTL, then SIGCONT", victim: true, inject: pause},
	{name: "kill", about: "SIGKILL a holder right after it reads", victim: true, inject: kill},
	{name: "leader", about: "crash etcd's leader, then restart it", members: true,
		inject: memberFault("crashed", crash, restart)},
	// Coming with etcd's fault proxy in internal/cluster. To wire one, give it
	// an inject such as
	//   memberFault("cut off from the others", partition, heal)
	// where partition(ctx, m, name) calls m.(*cluster.Cluster).Partition(name).
	{name: "partition", about: "cut one member off from the other two (coming)", members: true},
	{name: "slow", about: "delay one member's links (coming)", members: true},
}

func nemesisNames() string {
	var names []string
	for _, n := range nemeses {
		if n.inject != nil {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

// attack is what a nemesis works with during one experiment.
type attack struct {
	*bench
	h      *history
	victim victim // client 0, for a nemesis with victim set
	// bound bounds every wait for the clients: a lease's expiry, an election.
	bound time.Duration
	// delay is when a member fault strikes, after the clients start.
	delay time.Duration
}

// pause stops the victim between its read and its write, as a long GC pause
// or a stopped VM would: its keepalives stop, its lease expires, and another
// client takes the lock and works under it. Then the victim goes on with its
// write, from a count that is no longer current.
func pause(ctx context.Context, a *attack) (string, error) {
	if err := a.h.wait(ctx, a.bound, "client 0 to take the lock and read", stalled); err != nil {
		return "", err
	}
	if err := a.victim.stop(); err != nil {
		return "", err
	}
	stopped := time.Now()
	done := a.h.note(0, "client 0 stopped (SIGSTOP)")
	err := a.h.wait(ctx, a.bound, "another client to take the lock", writesSince(stopped, 2, 0))
	if rerr := a.victim.resume(); rerr != nil {
		err = errors.Join(err, rerr)
	}
	done()
	return fmt.Sprintf("client 0 stopped for %s; its %ds lease expired meanwhile", workshop.Seconds(time.Since(stopped)), a.ttl), err
}

// kill kills the victim between its read and its write, as a crash would:
// no Unlock, no revoke. Its lease frees the lock when the TTL runs out.
func kill(ctx context.Context, a *attack) (string, error) {
	if err := a.h.wait(ctx, a.bound, "client 0 to take the lock and read", stalled); err != nil {
		return "", err
	}
	died := time.Now()
	if err := a.victim.kill(); err != nil {
		return "", err
	}
	a.h.killed(0, died)
	a.h.note(0, "client 0 killed (SIGKILL)")()
	err := a.h.wait(ctx, a.bound, "another client to take the lock", writesSince(died, 1, 0))
	return fmt.Sprintf("client 0 killed holding the lock; its lease freed it %s later", workshop.Seconds(a.freedAfter(died))), err
}

// memberFault is a fault of one etcd member, the leader: inject it while
// the clients work, wait until they have written under it, heal it.
func memberFault(what string, inject, heal func(context.Context, cluster.Members, string) error) func(context.Context, *attack) (string, error) {
	return func(ctx context.Context, a *attack) (string, error) {
		select {
		case <-time.After(a.delay):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		leader, err := cluster.Leader(ctx, a.etcd.Client, a.etcd.Endpoints, a.etcd.Timeout)
		if err != nil || leader == "" {
			return "", fmt.Errorf("no leader to fault (%v)", err)
		}
		if err := inject(ctx, a.members, leader); err != nil {
			return "", err
		}
		at := time.Now()
		done := a.h.note(-1, fmt.Sprintf("%s (the leader) %s", leader, what))
		err = a.h.wait(ctx, a.bound, "the clients to write again", writesSince(at, 2, -1))
		if herr := heal(ctx, a.members, leader); herr != nil {
			err = errors.Join(err, herr)
		}
		done()
		return fmt.Sprintf("%s (the leader) %s for %s", leader, what, workshop.Seconds(time.Since(at))), err
	}
}

// crash stops a member dead (no leadership hand-over); restart starts it
// again with its data.
func crash(ctx context.Context, m cluster.Members, name string) error {
	_, err := m.Stop(ctx, name)
	return err
}

func restart(ctx context.Context, m cluster.Members, name string) error { return m.Start(ctx, name) }

// stalled: the victim has read, and waits to be stopped.
func stalled(events []event) bool {
	for _, e := range events {
		if e.Client == 0 && e.Op == opStall {
			return true
		}
	}
	return false
}

// writesSince: clients other than except wrote n times since t.
func writesSince(t time.Time, n, except int) func([]event) bool {
	return func(events []event) bool {
		count := 0
		for _, e := range events {
			if e.Client != except && e.Op == opWrite && e.Return && e.Outcome == ok && e.At > t.UnixNano() {
				count++
			}
		}
		return count >= n
	}
}

// freedAfter is how long after t another client got the lock.
func (a *attack) freedAfter(t time.Time) time.Duration {
	events, _, _ := a.h.snapshot()
	for _, e := range events {
		if e.Client != 0 && e.Op == opAcquire && e.Return && e.Outcome == ok && e.At > t.UnixNano() {
			return time.Duration(e.At - t.UnixNano())
		}
	}
	return 0
}
