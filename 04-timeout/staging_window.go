// The workshop's staging, not the lesson: how the staging watches a window
// (the article program's stdout), and what -plain adds on stderr so that no
// wait goes without a reason on screen.
package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lockview"
	"etcd-lock-workshop/internal/workshop"
)

// window is the stdout of the article's program as the staging watches it,
// the way you would watch a terminal: before and after each line the staging
// may act (kill the holder after "locking...", stop a countdown before
// "locked..."). The program prints each line with one Fprintln: one Write.
type window struct {
	w             io.Writer
	before, after func(line string)
}

func (win *window) Write(p []byte) (int, error) {
	line := string(p)
	if win.before != nil {
		win.before(line)
	}
	n, err := win.w.Write(p)
	if win.after != nil {
		win.after(line)
	}
	return n, err
}

// plainWindow is -plain's stdout. On stderr it says why the program waits: if
// Lock has not returned within a second, whose lease holds the lock (renewed
// while its program lives, counting down once it is dead); then how long the work lasts.
func plainWindow(ctx context.Context, etcd *workshop.Etcd, work time.Duration, stdout, stderr io.Writer) *window {
	stop := func() {}
	return &window{w: stdout,
		after: func(line string) {
			switch {
			case strings.HasPrefix(line, "locking..."):
				stop = afterASecond(ctx, func(ctx context.Context) (stop func()) {
					return lockview.OwnerCountdown(ctx, etcd, lockName, cli.NewLiveLine(stderr))
				})
			case strings.HasPrefix(line, "locked...") && work >= 2*time.Second:
				fmt.Fprintf(stderr, "working %s (-work); Ctrl-C now is the article's crash: this program dies holding the lock\n", work)
			}
		},
		before: func(line string) {
			if strings.HasPrefix(line, "locked...") {
				stop()
			}
		},
	}
}

// afterASecond starts show a second from now, unless stop is called first:
// a lock that is free needs no explanation.
func afterASecond(ctx context.Context, show func(context.Context) (stop func())) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return
		}
		stopShow := show(ctx)
		<-ctx.Done()
		stopShow()
	}()
	return sync.OnceFunc(func() { cancel(); <-done })
}
