// The workshop's staging, not the lesson: three candidates in three
// processes, started in turn so that their keys are in that order, the
// leader killed, then a resignation, each timed; then the pitfalls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lockview"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// candidateRole is the child's hidden mode: one candidate, its name after
// the role's ("candidate A").
const candidateRole = "candidate "

// patience bounds each wait for what a working etcd does at once (a key
// put, a process started): passing it means the stage is broken.
const patience = 30 * time.Second

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("11-election", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	ttl := cli.Int(fs, "ttl", 2, 1, 600, "each candidate's lease in seconds: how long a dead leader keeps leading")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	if name, ok := strings.CutPrefix(proc.Role(), candidateRole); ok {
		return candidate(ctx, etcd, name, *ttl, stdout)
	}
	if err := elect(ctx, etcd, *ttl, stdout, stderr); err != nil {
		return err
	}
	return showPitfalls(ctx, etcd, stdout)
}

// askedToResign is closed when the staging says "resign" (or goes).
func askedToResign() <-chan struct{} {
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		for msg := range cli.FromParent() {
			if msg == "resign" {
				return
			}
		}
	}()
	return asked
}

// elect plays the election: A leads, B and C wait; A is killed; B leads once
// A's lease has expired; B resigns; C leads at once; C resigns.
func elect(ctx context.Context, etcd *workshop.Etcd, ttl int, stdout, stderr io.Writer) error {
	if err := lockview.MustBeFree(ctx, etcd, electionName); err != nil {
		return err
	}
	observer, err := etcd.NewSession(ctx, 60)
	if err != nil {
		return err
	}
	defer etcd.CloseSession(ctx, observer)
	octx, stopObserving := context.WithCancel(ctx)
	values := make(chan string)
	go observe(octx, concurrency.NewElection(observer, electionName), values)
	defer func() {
		stopObserving()
		for range values { // until observe has returned
		}
	}()
	observed := func(want string) error { return waitObserved(values, want, stdout) }

	var candidates []*proc.Child
	defer func() {
		for _, c := range candidates {
			c.Stop() // reaped whatever happens; each revokes its lease on the way out
		}
	}()
	for i, name := range []string{"A", "B", "C"} {
		c, err := proc.StartAs(ctx, candidateRole+name, append([]string{"-ttl", strconv.Itoa(ttl)}, etcd.ChildFlags()...)...)
		if err != nil {
			return err
		}
		candidates = append(candidates, c)
		want := "campaigning"
		if i == 0 {
			want = "leading"
		}
		if err := echoUntil(c, want, stdout); err != nil {
			return err
		}
		if err := waitForCandidates(ctx, etcd, i+1); err != nil {
			return err
		}
	}
	if err := observed("A at work"); err != nil {
		return err
	}
	a, b, c := candidates[0], candidates[1], candidates[2]
	leader, err := lockview.Owner(ctx, etcd, electionName)
	if err != nil {
		return err
	}
	if leader == nil {
		return errors.New("A said it leads, but the election has no leader")
	}

	// After Ctrl-C the dead leader's lease would outlive us: a rerun would find it leading.
	defer etcd.RevokeLease(ctx, clientv3.LeaseID(leader.Lease))
	fmt.Fprintf(stdout, "killing A (pid %d) without Resign: its key stays until its %ds lease expires\n", a.Pid(), ttl)
	killed := time.Now()
	a.Kill()
	// The countdown ends when etcd expires A's lease; B's line follows it.
	cctx, stopCountdown := context.WithTimeout(ctx, time.Duration(ttl)*time.Second+patience)
	lockview.Countdown(cctx, etcd, clientv3.LeaseID(leader.Lease), cli.NewLiveLine(stderr), "dead leader A")
	stopCountdown()
	if err := echoUntil(b, "leading", stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "B leads %s after A was killed: nobody renewed A's %ds lease, so etcd expired it\n",
		cli.Seconds(time.Since(killed)), ttl)
	if err := observed("B at work"); err != nil {
		return err
	}

	resigned := time.Now()
	if err := b.Send("resign"); err != nil {
		return err
	}
	if err := echoUntil(b, "resigned", stdout); err != nil {
		return err
	}
	if err := echoUntil(c, "leading", stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "C leads %s after B was asked to resign: Resign deletes the key, no lease to wait for\n",
		cli.Seconds(time.Since(resigned)))
	if err := observed("C at work"); err != nil {
		return err
	}
	if err := c.Send("resign"); err != nil {
		return err
	}
	if err := echoUntil(c, "resigned", stdout); err != nil {
		return err
	}
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	_, err = concurrency.NewElection(observer, electionName).Leader(rctx)
	fmt.Fprintf(stdout, "no candidate left: Leader() says %q\n", err)
	if !errors.Is(err, concurrency.ErrElectionNoLeader) {
		return fmt.Errorf("the election should have no leader: %v", err)
	}
	return nil
}

// waitObserved returns once the observer has reported want, and says so.
func waitObserved(values <-chan string, want string, w io.Writer) error {
	deadline := time.After(patience)
	for {
		select {
		case v, ok := <-values:
			if !ok {
				return fmt.Errorf("the observer stopped before the leader said %q", want)
			}
			if v == want {
				cli.Logf(w, "observer: the leader says %q", v)
				return nil
			}
		case <-deadline:
			return fmt.Errorf("the observer did not see the leader say %q within %s", want, patience)
		}
	}
}

// echoUntil copies a candidate's lines to w up to and including the first
// that contains want.
func echoUntil(c *proc.Child, want string, w io.Writer) error {
	line, err := c.WaitFor(want, w, patience)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, line)
	return nil
}

// waitForCandidates returns once the election has n keys.
func waitForCandidates(ctx context.Context, etcd *workshop.Etcd, n int) error {
	return waitForPrefix(ctx, etcd, electionName, n)
}

// waitForPrefix returns once an election (or lock) name has n keys.
func waitForPrefix(ctx context.Context, etcd *workshop.Etcd, electionName string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	for {
		resp, err := etcd.Client.Get(ctx, electionName+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return fmt.Errorf("wait for %d candidates: %w", n, err)
		}
		if resp.Count >= int64(n) {
			return nil
		}
		wch := etcd.Client.Watch(ctx, electionName+"/", clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		if wr, ok := <-wch; !ok || wr.Err() != nil {
			return fmt.Errorf("wait for %d candidates: %v", n, ctx.Err())
		}
	}
}
