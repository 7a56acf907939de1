// Package workshoptest holds what the chapters' tests share.
package workshoptest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// Exit runs this test binary as the chapter's program (see workshop.Command)
// and returns its combined output and exit status.
func Exit(t testing.TB, args ...string) (output string, status int) {
	t.Helper()
	cmd, err := workshop.Command(context.Background(), args...)
	require.NoError(t, err)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}
