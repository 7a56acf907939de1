//go:build unix

package main

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

// The article's two windows by hand against one etcd: window 1 holds the lock
// with -plain -hold, window 2's -plain answers "lock failed" and exits 0. Once
// window 1 is stopped (Ctrl-C, a closed terminal, kill), its lease is revoked
// on the way out, so the lock is free at once, and window 2 gets it.
func TestTwoWindowsByHand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		signal syscall.Signal
		status int
		says   string
	}{
		{syscall.SIGINT, 130, "stopped by Ctrl-C (SIGINT): cleaned up and exited"},
		{syscall.SIGHUP, 129, "stopped by SIGHUP (terminal closed): cleaned up and exited"},
		{syscall.SIGTERM, 143, "stopped by SIGTERM: cleaned up and exited"},
	} {
		t.Run(tc.signal.String(), func(t *testing.T) {
			t.Parallel()
			etcd := workshoptest.Etcd(t)
			endpoint := etcd.Endpoints[0]
			window1, err := proc.Start(context.Background(), "-plain", "-hold", "10m", "-endpoints", endpoint)
			require.NoError(t, err)
			defer window1.Kill()
			_, err = window1.WaitFor("locked...", nil, 30*time.Second)
			require.NoError(t, err)

			var stdout, stderr bytes.Buffer
			require.NoError(t, run(context.Background(), []string{"-plain", "-endpoints", endpoint}, &stdout, &stderr))
			assert.Regexp(t, `^locking\.\.\. \S+ \S+\nlock failed mutex: Locked by another session\n$`, stdout.String())
			assert.Equal(t, "etcd: external etcd at "+endpoint+"\n", stderr.String())

			require.NoError(t, window1.Signal(tc.signal))
			err = window1.Wait()
			assert.Equal(t, tc.status, window1.State().ExitCode(), "%v", err)
			assert.Empty(t, workshoptest.Leases(t, etcd), "window 1 revoked its lease on the way out")
			assert.Empty(t, workshoptest.Keys(t, etcd, "/my-test-lock/"), "and its key went with it")

			stdout.Reset()
			require.NoError(t, run(context.Background(), []string{"-plain", "-hold", "0s", "-endpoints", endpoint}, &stdout, &stderr))
			assert.Regexp(t, `\nlocked\.\.\. \S+ \S+\nreleased\.\.\. \S+ \S+\ncount: 1\n$`, stdout.String())
		})
	}
}
