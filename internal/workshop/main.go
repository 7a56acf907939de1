// Package workshop is the plumbing every etcd chapter shares, so that a
// chapter's main.go can show the article's program and little else:
//
//   - main.go: Main runs a chapter's run function as a command: signals, exit statuses;
//   - flags.go: flags that check their values, -endpoints and -dial-timeout;
//   - etcd.go, embedded.go, tempdir.go: the etcd a chapter talks to (embedded, or
//     external with -endpoints) and a client whose requests have deadlines;
//   - session.go: sessions whose leases are granted and revoked with deadlines;
//   - locker.go: etcd's Locker panics; CatchLockerPanic makes that an error;
//   - child.go: the same program in a second process, for a holder to kill or freeze;
//   - print.go: the article's output format, live lines for countdowns.
//
// A new chapter is a folder NN-name with main.go (main calls Main(run)),
// main_test.go and README.md; it may use anything here.
package workshop

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
)

// RunFunc is a chapter's program, testable in-process:
// it gets its arguments and writers instead of reaching for os.Args and os.Stdout.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// stopSignals end a chapter cleanly, as Ctrl-C does: its leases revoked, its
// child processes reaped, its temp dirs removed. SIGHUP is a closed terminal.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// Main runs a chapter as a command and exits with its status: 0 on success,
// 2 on a bad command line (usage already printed), 1 on any other error, and
// 128 + the signal's number when a signal (or a closed output pipe) stopped
// it, as a shell reports.
func Main(run RunFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, stopSignals...)
	var got os.Signal
	stopped := make(chan struct{})
	go func() {
		select {
		case got = <-signals:
			cancel()
		case <-ctx.Done():
		}
		close(stopped)
	}()
	// A closed output pipe (go run ./08-handoff | head -1) would kill the
	// program on its next write, before it could clean up: ignored, the write
	// fails instead, and that failure stops the chapter like a signal.
	signal.Ignore(syscall.SIGPIPE)
	stdout, stderr := &pipeWriter{w: os.Stdout, cancel: cancel}, &pipeWriter{w: os.Stderr, cancel: cancel}

	err := run(ctx, os.Args[1:], stdout, stderr)
	cancel()
	<-stopped
	signal.Stop(signals)
	switch sig, _ := got.(syscall.Signal); {
	case sig != 0:
		fmt.Fprintf(os.Stderr, "stopped by %s: cleaned up and exited\n", signalName[sig])
		os.Exit(128 + int(sig))
	case stdout.closed.Load() || stderr.closed.Load():
		os.Exit(128 + int(syscall.SIGPIPE)) // nobody reads a closed pipe: no message
	}
	os.Exit(ExitCode(err, os.Stderr))
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
	if errors.Is(err, syscall.EPIPE) {
		p.closed.Store(true)
		p.cancel()
	}
	return n, err
}

var signalName = map[syscall.Signal]string{
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
