// The workshop's staging, not the lesson: the article's two windows in one
// command. Window 1 is this process, running tryLock while the staging watches
// its lines as you would watch the window; window 2 is this program again, in
// another process, with -plain.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lockview"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// lockName is the article's lock, which both windows try.
const lockName = "/my-test-lock"

// bothWindows plays the article's two windows: while window 1 holds the lock,
// window 2 tries it and fails at once; once window 1 has released it, window 2
// tries again and gets it.
func bothWindows(ctx context.Context, etcd *workshop.Etcd, stdout, stderr io.Writer) error {
	// In a shared etcd another program may hold the lock: window 1 must get it.
	if err := lockview.MustBeFree(ctx, etcd, lockName); err != nil {
		return err
	}
	var tried error
	window1 := &window{w: cli.Prefixed(stdout, "[window 1] "),
		after: func(line string) {
			if strings.HasPrefix(line, "locked...") {
				// Window 1 holds the lock until window 2 has had its answer.
				tried = window2(ctx, etcd, stdout, stderr, "lock failed")
			}
		},
	}
	if err := tryLock(ctx, etcd, 0, window1); err != nil {
		return err
	}
	if tried != nil {
		return tried
	}
	return window2(ctx, etcd, stdout, stderr, "count: 1")
}

// window2 runs this program again with -plain against the same etcd, copies
// its lines to stdout, and returns once it has printed want and exited.
func window2(ctx context.Context, etcd *workshop.Etcd, stdout, stderr io.Writer, want string) error {
	child, err := proc.Start(ctx, append([]string{"-plain", "-hold", "0s"}, etcd.ChildFlags()...)...)
	if err != nil {
		return err
	}
	defer child.Stop() // reaped whatever happens; after Ctrl-C it revokes its own lease
	fmt.Fprintf(stderr, "window 2: this program again, with -plain, in another process (pid %d)\n", child.Pid())
	out := cli.Prefixed(stdout, "[window 2] ")
	// Generous: a process start and a connection, maybe under -race on a busy machine.
	line, err := child.WaitFor(want, out, 30*time.Second)
	if err != nil {
		return fmt.Errorf("window 2 (pid %d): %w", child.Pid(), err)
	}
	fmt.Fprintln(out, line)
	if err := child.Wait(); err != nil {
		return fmt.Errorf("window 2 (pid %d): %w", child.Pid(), err)
	}
	return nil
}

// window is the stdout of the article's program as the staging watches it,
// the way you would watch a terminal: after each line the staging may act.
// The program prints each line with one Fprintln: one Write.
type window struct {
	w     io.Writer
	after func(line string)
}

func (win *window) Write(p []byte) (int, error) {
	n, err := win.w.Write(p)
	if win.after != nil {
		win.after(string(p))
	}
	return n, err
}

// plainWindow is -plain's stdout; on stderr it says how long the lock is held,
// so that the wait has a reason on screen.
func plainWindow(hold time.Duration, stdout, stderr io.Writer) *window {
	return &window{w: stdout,
		after: func(line string) {
			if strings.HasPrefix(line, "locked...") && hold >= 2*time.Second {
				fmt.Fprintf(stderr, "holding the lock for %s (-hold): try the same command in another window now\n", hold)
			}
		},
	}
}

// isSet reports whether the command line gave the flag.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
