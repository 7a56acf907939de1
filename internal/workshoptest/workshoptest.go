// Package workshoptest holds what the chapters' tests share.
package workshoptest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// Etcd starts an embedded etcd with a client for one test; it stops at cleanup.
func Etcd(t testing.TB) *workshop.Etcd {
	t.Helper()
	// Generous: under -race on 2 busy cores etcd is several times slower.
	etcd, err := workshop.Connect(context.Background(), &workshop.Flags{DialTimeout: 10 * time.Second}, &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(etcd.Close)
	return etcd
}

// Blackhole returns an endpoint that accepts connections and never answers:
// the worst case for a client, which would wait forever without a deadline.
func Blackhole(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0") // the kernel completes handshakes; nobody reads
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return "http://" + l.Addr().String()
}

// Exit runs this test binary as the chapter's program (see proc.Command)
// and returns its combined output and exit status.
func Exit(t testing.TB, args ...string) (output string, status int) {
	t.Helper()
	// Bounded, so that a child that hangs fails the test instead of stalling it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, err := proc.Command(ctx, args...)
	require.NoError(t, err)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

// Start starts this test binary as the chapter's program, within a minute,
// and returns it with its output to read line by line and its stderr; it is
// killed at cleanup if the test has not waited for it.
func Start(t testing.TB, args ...string) (cmd *exec.Cmd, stdout *bufio.Scanner, stderr *Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd, err := proc.Command(ctx, args...)
	require.NoError(t, err)
	stderr = &Buffer{}
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, bufio.NewScanner(pipe), stderr
}

// ExitCase is a command line and what a learner must get from it.
type ExitCase struct {
	Name   string
	Args   []string
	Status int    // the exit status
	Says   string // a piece of the output
}

// Unreachable is the case every etcd chapter shares: an etcd that never
// answers costs one line and the dial timeout, never a hang.
func Unreachable(t testing.TB) ExitCase {
	return ExitCase{"unreachable etcd", []string{"-endpoints", Blackhole(t), "-dial-timeout", "1s"}, 1, "error: cannot reach etcd at http://127.0.0.1:"}
}

// CheckExits runs each case as a real process (see Exit) and checks its exit
// status, its output, that no etcd JSON log line got out, and that it did
// not hang. The cases run side by side: most only wait (a dial timeout).
func CheckExits(t *testing.T, cases ...ExitCase) {
	t.Helper()
	if !slices.ContainsFunc(cases, func(c ExitCase) bool { return slices.Equal(c.Args, []string{"-h"}) }) {
		cases = append(cases, ExitCase{Name: "help", Args: []string{"-h"}, Status: 0, Says: "-"}) // its usage fits too
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, status := Exit(t, tc.Args...)
			assert.Equal(t, tc.Status, status, out)
			assert.Contains(t, cli.Unwrap(out), tc.Says, "its lines joined where they were wrapped")
			assert.NotContains(t, out, `"level"`, "no etcd JSON logs, not even at shutdown")
			assert.Less(t, time.Since(start), 10*time.Second, "must not hang")
			for _, line := range strings.Split(out, "\n") {
				assert.LessOrEqual(t, cli.Width(line), cli.Columns, "wider than a projector: %q", line)
			}
		})
	}
}
