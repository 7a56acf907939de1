package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// The victim: client 0 of a pause or a kill, in a process of its own, since
// a freeze (SIGSTOP; NtSuspendProcess on Windows) and a kill act on
// processes. It is this same program, started in a hidden role; it prints its events as JSON lines, which the parent adds
// to the history. Client 0 of a partition is a fault of etcd's, not of the
// client's process: it runs in this process (localVictim).

const victimRole = "victim"

// The parent's messages to the victim (cli.FromParent).
const (
	resumeMsg = "resume" // thawed: go on from the stall
	finishMsg = "finish" // the experiment is over
)

// victim is the client that a nemesis stops or kills.
type victim interface {
	stop() error   // freeze it: every goroutine stops, its lease's keepalives too
	resume() error // let it go on, where it stopped
	kill() error   // a crash: no Unlock, no revoke; only its lease frees the lock
	finish()       // the experiment is over: stop after the section under way
	// wait returns once it has exited (killing it after bound), with its error.
	wait(bound time.Duration) error
}

// victimArgs is what the victim needs to know: its experiment, when to
// stall, and when to give up if nobody tells it to finish.
type victimArgs struct {
	kind, fence, name, store string
	ttl                      int
	seed                     uint64
	stallAt, until           time.Time
}

func (a victimArgs) flags(e *workshop.Etcd) []string {
	return append(e.ChildFlags(), "-lock", a.kind, "-fence", a.fence, "-experiment", a.name, "-store", a.store,
		"-ttl", strconv.Itoa(a.ttl), "-seed", strconv.FormatUint(a.seed, 10),
		"-stall-at", strconv.FormatInt(a.stallAt.UnixNano(), 10), "-until", strconv.FormatInt(a.until.UnixNano(), 10))
}

// runVictim is the victim process: client 0's loop until its parent says
// "finish" (or -until passes), stalling after the read of its first section
// past -stall-at until the parent, having thawed it, says "resume".
func runVictim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("09-check victim", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	var a victimArgs
	fs.StringVar(&a.kind, "lock", "mutex", "")
	fs.StringVar(&a.fence, "fence", "none", "")
	fs.StringVar(&a.name, "experiment", "", "")
	fs.StringVar(&a.store, "store", "", "")
	fs.IntVar(&a.ttl, "ttl", 1, "")
	fs.Uint64Var(&a.seed, "seed", 1, "")
	stallAt := fs.Int64("stall-at", 0, "")
	until := fs.Int64("until", 0, "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	a.stallAt, a.until = time.Unix(0, *stallAt), time.Unix(0, *until)
	resumed, finish := make(chan struct{}, 1), make(chan struct{})
	go func() { // the parent's messages
		for msg := range cli.FromParent() {
			switch msg {
			case resumeMsg:
				resumed <- struct{}{}
			case finishMsg:
				close(finish)
				return
			}
		}
	}()

	etcd, err := workshop.Connect(ctx, flags, io.Discard)
	if err != nil {
		return err
	}
	defer etcd.Close()
	untilCtx, cancel := context.WithDeadline(ctx, a.until)
	defer cancel()
	go func() {
		select {
		case <-finish:
			cancel()
		case <-untilCtx.Done():
		}
	}()
	enc := json.NewEncoder(stdout) // one line per event, written by the client's goroutine only
	c := &client{id: 0, etcd: etcd, kind: a.kind, name: lockName(a.name), ttl: a.ttl,
		count: countFor(etcd, a.fence, a.name, a.store), rng: rand.New(rand.NewPCG(a.seed, 0)),
		report: func(e event) { enc.Encode(e) }, stallAt: a.stallAt,
		stall: func() {
			// Frozen here, then thawed and told to go on (or killed here).
			select {
			case <-resumed:
			case <-untilCtx.Done():
			}
		}}
	return c.work(ctx, untilCtx)
}

// victimProcess is the victim in its own process.
type victimProcess struct {
	child  *proc.Child
	read   chan error // the end of its output, and why
	killed bool
}

// startVictimProcess starts the victim and feeds its events to h.
func startVictimProcess(ctx context.Context, e *workshop.Etcd, a victimArgs, h *history) (victim, error) {
	child, err := proc.StartAs(ctx, victimRole, a.flags(e)...)
	if err != nil {
		return nil, err
	}
	v := &victimProcess{child: child, read: make(chan error, 1)}
	go func() {
		for {
			// Every event is a JSON line; the child prints nothing else on stdout.
			line, err := child.WaitFor("{", nil, 10*time.Minute)
			if err != nil {
				v.read <- err
				return
			}
			var e event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				v.read <- fmt.Errorf("victim: %q: %w", line, err)
				return
			}
			h.add(e)
		}
	}()
	return v, nil
}

func (v *victimProcess) stop() error { return v.child.Freeze() }

func (v *victimProcess) resume() error {
	if err := v.child.Thaw(); err != nil {
		return err
	}
	return v.child.Send(resumeMsg)
}

func (v *victimProcess) kill() error {
	v.killed = true
	return v.child.Kill()
}

func (v *victimProcess) finish() {
	if !v.killed {
		v.child.Send(finishMsg)
	}
}

func (v *victimProcess) wait(bound time.Duration) error {
	select {
	case readErr := <-v.read:
		if err := v.child.Wait(); err != nil && !v.killed {
			return fmt.Errorf("victim: %v (%v)", err, readErr)
		}
		return nil
	case <-time.After(bound):
		v.child.Kill()
		return fmt.Errorf("victim still running %s after the experiment ended: killed", bound)
	}
}

// localVictim is client 0 in this process, stalled after a read until
// resumed. The nemesis faults etcd around it (cuts off its member), not it:
// stop does nothing.
type localVictim struct {
	resumed chan struct{}
	once    sync.Once
	cancel  context.CancelFunc
	done    chan error
}

// startLocalVictim starts client 0 on e, which may be one member only.
func startLocalVictim(ctx context.Context, e *workshop.Etcd, a victimArgs, h *history) *localVictim {
	v := &localVictim{resumed: make(chan struct{}), done: make(chan error, 1)}
	until, cancel := context.WithDeadline(ctx, a.until)
	v.cancel = cancel
	c := &client{id: 0, etcd: e, kind: a.kind, name: lockName(a.name), ttl: a.ttl,
		count: countFor(e, a.fence, a.name, a.store), report: h.add, rng: rand.New(rand.NewPCG(a.seed, 0)),
		stallAt: a.stallAt, stall: func() {
			select {
			case <-v.resumed:
			case <-until.Done():
			}
		}}
	go func() {
		defer cancel()
		v.done <- c.work(ctx, until)
	}()
	return v
}

func (v *localVictim) stop() error { return nil }

func (v *localVictim) resume() error {
	v.once.Do(func() { close(v.resumed) })
	return nil
}

func (v *localVictim) kill() error {
	return errors.New("client 0 runs in this process: it cannot be killed")
}

func (v *localVictim) finish() { v.cancel() }

func (v *localVictim) wait(bound time.Duration) error {
	select {
	case <-v.done:
		return nil
	case <-time.After(bound):
		return fmt.Errorf("client 0 still working %s after the experiment ended", bound)
	}
}
