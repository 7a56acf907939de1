package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/fence"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// clientA is client A, in a process of its own so that it can really stall.
// Between its last look at its session and its write it waits to be resumed;
// meanwhile the parent freezes the whole process (SIGSTOP; NtSuspendProcess
// on Windows), as a long GC pause would: every goroutine stops, the lease's
// keepalives too. The parent thaws it and says "resume".
func clientA(ctx context.Context, act *Act) error {
	a, err := act.Lock(ctx, "A")
	if err != nil {
		return err
	}
	defer a.Unlock(ctx)
	cli.Logf(act.out, "A: locked %s (token %d)", lockName, a.Token)
	err = a.Incr(ctx, func() {
		cli.Logf(act.out, "A: stalls (%s: the process freezes, its keepalives too)", proc.FreezeName)
		for {
			select {
			case msg := <-cli.FromParent():
				if msg == resume {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	})
	if err != nil && !errors.Is(err, ErrRefused) {
		return err
	}
	// A watches its session: it does learn it lost the lock, after the fact.
	select {
	case <-a.session.Done():
		cli.Logf(act.out, "A: lost the lock: session expired")
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(act.wait()):
		return fmt.Errorf("A: session still alive %s after resuming", act.wait())
	}
}

// Plumbing below: client A's process, as its parent and as itself.

// clientARole is the role of client A's process: this same program, started
// by play and never by a learner, so its settings are no flags in -help.
const clientARole = "client-a"

// resume is the parent's message to a thawed A: go on and write.
const resume = "resume"

// runClientA is run in client A's process: its arguments come from startClientA.
func runClientA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("07-fencing (client A)", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	fenceName := fs.String("fence", "", "")
	ttl := fs.Int("ttl", 0, "")
	storage := fs.String("storage", "", "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	act := &Act{etcd: etcd, fence: Fence(*fenceName), ttl: *ttl, out: stdout}
	if *storage != "" {
		act.storage = &fence.Client{URL: *storage}
	}
	return clientA(ctx, act)
}

// clientAProcess is client A as its parent sees it: a child process whose
// timeline lines the parent relays.
type clientAProcess struct {
	*proc.Child
	act          *Act
	stopOnCancel func() bool
}

// startClientA starts client A against the act's etcd, fence and storage.
func startClientA(ctx context.Context, act *Act) (*clientAProcess, error) {
	args := append([]string{"-fence", string(act.fence), "-ttl", strconv.Itoa(act.ttl)}, act.etcd.ChildFlags()...)
	if act.storage != nil {
		args = append(args, "-storage", act.storage.URL)
	}
	// Not ctx: its cancel would SIGKILL A, and a killed A leaves its lease
	// behind. On Ctrl-C A is asked to stop instead, and revokes its lease.
	child, err := proc.StartAs(context.WithoutCancel(ctx), clientARole, args...)
	if err != nil {
		return nil, err
	}
	a := &clientAProcess{Child: child, act: act}
	a.stopOnCancel = context.AfterFunc(ctx, a.AskToStop)
	return a, nil
}

// startStalledClientA starts A and returns once A has said it stalls and its
// process is frozen.
func startStalledClientA(ctx context.Context, act *Act) (*clientAProcess, error) {
	a, err := startClientA(ctx, act)
	if err != nil {
		return nil, err
	}
	if _, err := a.relayUntil("A: stalls"); err == nil {
		err = a.Freeze()
	}
	if err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// resume thaws A and lets it write, relays what it says up to its lost lock,
// waits for it to exit, and reports whether its write was taken.
func (a *clientAProcess) resume() (wrote bool, err error) {
	cli.Logf(a.act.out, "A resumes (%s)", proc.ThawName)
	if err := a.Thaw(); err != nil {
		return false, err
	}
	if err := a.Send(resume); err != nil {
		return false, err
	}
	fromA, err := a.relayUntil("A: lost the lock") // A's write, taken or refused
	if err != nil {
		return false, err
	}
	if err := a.Wait(); err != nil {
		return false, fmt.Errorf("client A: %w", err)
	}
	return strings.Contains(fromA, "A: wrote"), nil
}

// relayUntil copies A's lines to the timeline up to the first one containing
// want, and returns them all.
func (a *clientAProcess) relayUntil(want string) (string, error) {
	var lines strings.Builder
	line, err := a.WaitFor(want, io.MultiWriter(a.act.out, &lines), a.act.wait())
	if err != nil {
		return "", err
	}
	fmt.Fprintln(a.act.out, line)
	return lines.String() + line, nil
}

// stop ends A on every path: asked first, so that it revokes its lease;
// SIGKILL if it has not exited in time. It returns once A is reaped.
func (a *clientAProcess) stop() {
	a.stopOnCancel()
	if !a.Exited() {
		a.AskToStop()
		exited := make(chan struct{})
		go func() { a.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(a.act.etcd.Timeout + 2*time.Second): // its revoke's deadline, and a margin
		}
	}
	a.Kill()
}
