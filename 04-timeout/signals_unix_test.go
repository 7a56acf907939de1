//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

// The article's two windows, with -plain against one shared etcd: Ctrl-C kills
// the first where it stands (no Unlock), so the second still waits for the lease.
func TestPlainCtrlCKeepsTheLockUntilTheLeaseExpires(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	plain := []string{"-plain", "-endpoints", strings.Join(etcd.Endpoints, ","), "-ttl", strconv.Itoa(ttl)}

	first, err := proc.Start(ctx, append(plain, "-work", "1h")...)
	require.NoError(t, err)
	defer first.Kill()
	_, err = first.WaitFor("locked...", nil, 30*time.Second)
	require.NoError(t, err)
	second, err := proc.Start(ctx, append(plain, "-work", "0s")...)
	require.NoError(t, err)
	defer second.Kill()
	_, err = second.WaitFor("locking...", nil, 30*time.Second)
	require.NoError(t, err)

	interrupted := time.Now()
	require.NoError(t, first.Signal(syscall.SIGINT))
	exited := make(chan struct{})
	go func() { first.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("-plain ignored Ctrl-C (SIGINT)")
	}
	// A clean shutdown would exit 130 after revoking the lease.
	assert.Equal(t, "signal: interrupt", first.State().String(), "Ctrl-C must kill -plain, not shut it down cleanly")

	_, err = second.WaitFor("locked...", nil, 30*time.Second)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(interrupted), ttl*time.Second/2, "the lock was free before the lease could expire")
	_, err = second.WaitFor("count: 1", nil, 30*time.Second)
	require.NoError(t, err)
	assert.NoError(t, second.Wait())
}

// Closing the terminal (SIGHUP) in the middle of the countdown: the program
// stops at once with 128+1, its holder child reaped, its embedded etcd's temp
// dir removed, and in a shared etcd both leases revoked (the dead holder's
// too), so no key of the lesson is left.
func TestSIGHUPMidCountdownCleansUp(t *testing.T) {
	t.Parallel()
	shared := workshoptest.Etcd(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"embedded", nil},
		{"shared etcd", []string{"-endpoints", strings.Join(shared.Endpoints, ",")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, lines, stderr := workshoptest.Start(t, append(tc.args, "-ttl", "30", "-work", "1s")...)
			killedLine := regexp.MustCompile(`^\[holder pid (\d+)\] killed `)
			var holder int
			for holder == 0 && lines.Scan() {
				if m := killedLine.FindStringSubmatch(lines.Text()); m != nil {
					holder, _ = strconv.Atoi(m[1])
				}
			}
			if holder != 0 {
				require.NoError(t, cmd.Process.Signal(syscall.SIGHUP)) // the waiter is in Lock, 30 s to go
			}
			for lines.Scan() { // to the end: the program exits
			}
			err := cmd.Wait()
			require.NotZero(t, holder, "no holder was killed; stderr:\n%s", stderr.String())
			assert.Equal(t, 129, cmd.ProcessState.ExitCode(), "%v; stderr:\n%s", err, stderr.String())
			assert.Contains(t, stderr.String(), "stopped by SIGHUP (terminal closed): cleaned up and exited")
			assert.False(t, cli.Alive(holder), "holder pid %d still exists", holder)
			left, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("etcd-lock-workshop-*-pid%d-*", cmd.Process.Pid)))
			assert.Empty(t, left, "temp dirs left behind")
			if tc.args != nil {
				assert.Empty(t, workshoptest.Leases(t, shared), "leases left in the shared etcd")
				assert.Empty(t, workshoptest.Keys(t, shared, "/my-test-lock/"), "keys left under /my-test-lock")
			}
		})
	}
}
