//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

// Ctrl-C while the goroutines wait for the lock: the program stops at once
// and revokes every lease it made, which takes their keys with them.
func TestCtrlCRevokesTheLeases(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	holder, taken := holdTheLock(t, etcd.Client)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	waiters := etcd.Client.Watch(ctx, "/my-test-lock", clientv3.WithPrefix(), clientv3.WithRev(taken+1))

	cmd, err := proc.Command(ctx, "-endpoints", etcd.Endpoints[0], "-goroutines", "3")
	require.NoError(t, err)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	for queued := 0; queued < 3; {
		resp, ok := <-waiters
		require.True(t, ok, "the 3 goroutines never queued for the lock: %s", &out)
		queued += len(resp.Events)
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))

	var exit *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &exit, out.String())
	assert.Equal(t, 130, exit.ExitCode(), out.String())
	assert.Contains(t, out.String(), "stopped by Ctrl-C (SIGINT): cleaned up and exited")
	assert.NotContains(t, out.String(), "panic")
	assertNothingLeft(t, etcd.Client, holder)
}
