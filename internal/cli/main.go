// Package cli runs a program as a command: Ctrl-C and the other signals that
// stop it cancel its context, so that it can clean up; bad command lines get
// the usage and exit status 2; flags check their values; output keeps the
// article's format and fits a projector (print.go, wrap.go); temp dirs go
// with their process (tempdir.go). It imports no etcd
// package: every chapter uses it, and so does etcd/cluster, which builds in
// seconds because of that.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// RunFunc is a program, testable in-process:
// it gets its arguments and writers instead of reaching for os.Args and os.Stdout.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs a program as a command and exits with its status: 0 on success,
// 2 on a bad command line (usage already printed), 1 on any other error, and
// 128 + the signal's number when a signal (or a closed output pipe) stopped
// it, as a shell reports. A child whose parent has gone (or closed its pipe
// to ask it to stop) stops as on SIGTERM.
func Main(run RunFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &pipeWriter{w: os.Stdout, cancel: cancel}, &pipeWriter{w: os.Stderr, cancel: cancel}
	// Usage and errors fit the projector too, in every program; stdout is
	// the program's to wrap (08's summary is one line that a script reads).
	wrapped := &wrapper{w: stderr}
	ran := make(chan struct{}) // closed when run has returned
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, stopSignals...)
	var got os.Signal
	parentGone, byParent := ParentGone(), false
	stopped := make(chan struct{})
	go func() {
		select {
		case got = <-signals:
			cancel()
			// A learner who sees nothing after Ctrl-C presses it again, or
			// closes the window: say that the program is cleaning up.
			notice := time.NewTimer(cleanupNotice)
			select {
			case <-ran:
				notice.Stop()
			case <-notice.C: // before "stopped by", which waits for this goroutine
				sig, _ := got.(syscall.Signal)
				fmt.Fprintf(wrapped, "%s: still cleaning up (leases, child processes), each step within a deadline\n",
					SignalName[sig])
				<-ran
			}
		case <-parentGone:
			byParent = true
			cancel()
		case <-ctx.Done():
		}
		close(stopped)
	}()
	// A closed output pipe (go run ./08-handoff | head -1) would kill the
	// program on its next write, before it could clean up: ignored, the write
	// fails instead, and that failure stops the chapter like a signal.
	signal.Ignore(syscall.SIGPIPE)
	err := run(ctx, os.Args[1:], stdout, wrapped)
	close(ran)
	cancel()
	<-stopped
	signal.Stop(signals)
	sayRelayed(wrapped)
	status := 0
	switch sig, _ := got.(syscall.Signal); {
	case sig != 0:
		fmt.Fprintln(wrapped, stoppedHow(SignalName[sig]))
		status = 128 + int(sig)
	case byParent:
		fmt.Fprintln(wrapped, stoppedHow("its parent"))
		status = 128 + int(syscall.SIGTERM)
	case stdout.closed.Load() || stderr.closed.Load():
		status = 128 + int(syscall.SIGPIPE) // nobody reads a closed pipe: no message
	default:
		status = ExitCode(err, wrapped)
	}
	wrapped.flush()
	os.Exit(status)
}

// pipeWriter is stdout or stderr; a write to it once its reader has gone
// cancels the chapter.
type pipeWriter struct {
	w      *os.File
	cancel context.CancelFunc
	closed atomic.Bool
}

// Stat lets a LiveLine see whether the file is a terminal.
func (p *pipeWriter) Stat() (os.FileInfo, error) { return p.w.Stat() }

func (p *pipeWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if isClosedPipe(err) {
		p.closed.Store(true)
		p.cancel()
	}
	return n, err
}

// cleanupNotice is how long a program may clean up after a signal before it
// says that it is doing so.
const cleanupNotice = 2 * time.Second

// SignalName is how a learner knows each signal that stops a program.
var SignalName = map[syscall.Signal]string{
	syscall.SIGINT: "Ctrl-C (SIGINT)", syscall.SIGHUP: "SIGHUP (terminal closed)", syscall.SIGTERM: "SIGTERM",
}

// ExitCode prints err as one line (unless the flag package already spoke)
// and returns the process status for it.
func ExitCode(err error, stderr io.Writer) int {
	var usage *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		return 2
	default:
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
}
