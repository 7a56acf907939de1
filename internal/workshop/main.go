// Package workshop is the plumbing every chapter shares, so that a chapter's
// main.go can show the article's program and nothing else: flags, an etcd
// (embedded, or external with -endpoints), a client whose requests all have
// deadlines, child processes, and printing in the article's format.
package workshop

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a chapter's program, testable in-process:
// it gets its arguments and writers instead of reaching for os.Args and os.Stdout.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs a chapter as a command and exits with its status:
// 0 on success, 2 on bad flags (usage already printed), 1 on any other error.
func Main(run RunFunc) {
	// Ctrl-C cancels ctx, so the chapter can revoke its leases and remove its temp dir.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted && err != nil {
		// The error is only the echo of Ctrl-C (or SIGTERM): say so, with the shell's status for SIGINT.
		fmt.Fprintln(os.Stderr, "interrupted:", err)
		os.Exit(130)
	}
	os.Exit(ExitCode(err, os.Stderr))
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
