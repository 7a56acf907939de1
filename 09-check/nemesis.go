package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/proc"
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
	// attached: it cuts off client 0's member; client 0, in this process,
	// is attached to that member alone and stalls right after a read; the
	// other clients are attached to the other members.
	attached bool
	// members: it needs to stop and start etcd's members.
	members bool
	// network: it needs the embedded cluster's network faults.
	network bool
	// inject injects the fault and undoes it; it says in a few words what
	// it did.
	inject func(ctx context.Context, a *attack) (string, error)
}

var nemeses = []*nemesis{
	{name: "none", about: "no fault", inject: noFault},
	{name: "pause", about: proc.FreezeName + " a holder right after it reads, past its lease's TTL, then " + proc.ThawName,
		victim: true, inject: pause},
	{name: "kill", about: "SIGKILL a holder right after it reads", victim: true, inject: kill},
	{name: "leader", about: "crash etcd's leader, then restart it", members: true,
		inject: memberFault(crash, restart)},
	{name: "partition", about: "cut the leader off from the other two members while a holder attached to it alone is between its read and its write, then heal",
		attached: true, network: true, inject: partition},
	{name: "slow", about: "delay the leader's messages to the other members, then heal", network: true,
		inject: memberFault(slow, heal)},
}

func nemesisNames() string {
	var names []string
	for _, n := range nemeses {
		names = append(names, n.name)
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
	// target is the member that client 0 is attached to, for a nemesis
	// with attached set.
	target string
}

// noFault injects nothing; it waits until the clients have written twice, so
// that no experiment passes for want of anyone working (a busy machine may
// be slow to start them).
func noFault(ctx context.Context, a *attack) (string, error) {
	return "", a.h.wait(ctx, a.bound, "the clients to write", writesSince(a.h.start, 2, -1))
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
	done := a.h.note(0, "stopped", "client 0 stopped ("+proc.FreezeName+")")
	err := a.h.wait(ctx, a.bound, "another client to take the lock", writesSince(stopped, 2, 0))
	if rerr := a.victim.resume(); rerr != nil {
		err = errors.Join(err, rerr)
	}
	done()
	return fmt.Sprintf("client 0 stopped for %s; its %ds lease expired meanwhile", cli.Seconds(time.Since(stopped)), a.ttl), err
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
	a.h.note(0, "", "client 0 killed (SIGKILL)")()
	err := a.h.wait(ctx, a.bound, "another client to take the lock", writesSince(died, 1, 0))
	return fmt.Sprintf("client 0 killed holding the lock; its lease freed it %s later", cli.Seconds(a.freedAfter(died))), err
}

// memberFault is a fault of one etcd member, the leader: inject it while
// the clients work, wait until they have written under it, heal it. inject
// says what it did to the member.
func memberFault(inject func(context.Context, *attack, string) (string, error), heal func(context.Context, *attack, string) error) func(context.Context, *attack) (string, error) {
	return func(ctx context.Context, a *attack) (string, error) {
		select {
		case <-time.After(a.delay):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		leader, err := a.leader(ctx, a.bound)
		if err != nil {
			return "", err
		}
		what, err := inject(ctx, a, leader)
		if err != nil {
			return "", err
		}
		at := time.Now()
		done := a.h.note(-1, "", fmt.Sprintf("%s (the leader) %s", leader, what))
		err = a.h.wait(ctx, a.bound, "the clients to write again", writesSince(at, 2, -1))
		if herr := heal(ctx, a, leader); herr != nil {
			err = errors.Join(err, herr)
		}
		done()
		return fmt.Sprintf("%s (the leader) %s for %s", leader, what, cli.Seconds(time.Since(at))), err
	}
}

// crash stops a member dead (no leadership hand-over); restart starts it
// again with its data.
func crash(ctx context.Context, a *attack, name string) (string, error) {
	_, err := a.members.Stop(ctx, name)
	return "crashed", err
}

func restart(ctx context.Context, a *attack, name string) error { return a.members.Start(ctx, name) }

// slow delays what the member says to the others (etcd's fault proxy on its
// peer links): its appends and heartbeats arrive late, every write waits for
// them; below the election timeout it stays the leader.
func slow(_ context.Context, a *attack, name string) (string, error) {
	return fmt.Sprintf("slowed by %s ± %s", a.slowDelay, a.slowJitter()), a.cluster.Slow(name, a.slowDelay, a.slowJitter())
}

// slowJitter is how much the slow nemesis's delay varies, either way.
func (b *bench) slowJitter() time.Duration { return (b.slowDelay / 3).Round(time.Millisecond) }

func heal(_ context.Context, a *attack, name string) error { return a.cluster.Heal(name) }

// leader is the member that leads now, once a majority agrees on one (the
// previous experiment's fault may have left an election under way).
func (b *bench) leader(ctx context.Context, bound time.Duration) (string, error) {
	deadline := time.Now().Add(bound)
	for {
		leader, err := cluster.Leader(ctx, b.etcd.Client, b.etcd.Endpoints, b.etcd.Timeout)
		if err == nil && leader != "" {
			return leader, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("no leader after %s (%v)", bound, err)
		}
		select {
		case <-time.After(100 * time.Millisecond): // an election takes about a second
		case <-ctx.Done():
		}
	}
}

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
