package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

// Stopped in the middle of an act, while A is frozen and B waits for the
// lock, the program leaves a shared etcd as it found it: no lease (the TTL is
// long: a lease that was not revoked would still be there), no key (A's, B's,
// the record), and no process (A reaped, not merely killed by the kernel).
func TestInterruptedActLeavesNothing(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to find client A's process")
	}
	for _, tc := range []struct {
		name  string
		act   string
		sig   syscall.Signal
		group bool // to the program's process group, as a terminal's Ctrl-C: A gets it too
	}{
		{"Ctrl-C in act 1", "1", syscall.SIGINT, false},
		{"Ctrl-C at a terminal in act 1", "1", syscall.SIGINT, true},
		{"Ctrl-C in act 3", "3", syscall.SIGINT, false},
		{"SIGTERM in act 2", "2", syscall.SIGTERM, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			etcd := workshoptest.Etcd(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// Two lock keys: A's, then B's, queued behind it.
			keys := etcd.Client.Watch(ctx, lockName+"/", clientv3.WithPrefix(), clientv3.WithFilterDelete())
			cmd, err := proc.Command(ctx, "-act", tc.act, "-ttl", "60", "-endpoints", etcd.Endpoints[0])
			require.NoError(t, err)
			var out workshoptest.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if cmd.SysProcAttr == nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{}
			}
			cmd.SysProcAttr.Setpgid = tc.group // a group of its own, which the signal can go to
			require.NoError(t, cmd.Start())
			defer cmd.Process.Kill() // if the test fails before the program ends

			var a int // client A's pid, known once A has queued its key
			for put := 0; put < 2; {
				select {
				case resp, ok := <-keys:
					require.True(t, ok, "watch ended; output:\n%s", out.String())
					put += len(resp.Events)
				case <-ctx.Done():
					t.Fatalf("A and B did not both queue; output:\n%s", out.String())
				}
				if put == 1 {
					children := childrenOf(t, cmd.Process.Pid)
					require.Len(t, children, 1, "client A's process")
					a = children[0]
				}
			}
			assert.Eventually(t, func() bool { return processState(a) == "T" }, 10*time.Second, 10*time.Millisecond,
				"A (pid %d) frozen by SIGSTOP", a)

			if tc.group {
				require.NoError(t, syscall.Kill(-cmd.Process.Pid, tc.sig))
			} else {
				require.NoError(t, cmd.Process.Signal(tc.sig))
			}
			start := time.Now()
			err = cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, out.String())
			assert.Equal(t, 128+int(tc.sig), exit.ExitCode(), out.String())
			assert.Less(t, time.Since(start), 15*time.Second, "cleanup is bounded")
			assert.Contains(t, out.String(), "cleaned up and exited")

			assert.Equal(t, "", processState(a), "client A (pid %d) left behind", a)
			rctx, rcancel := etcd.WithTimeout(context.Background())
			defer rcancel()
			leases, err := etcd.Client.Leases(rctx)
			require.NoError(t, err)
			assert.Empty(t, leases.Leases, "leases left in etcd")
			left, err := etcd.Client.Get(rctx, "", clientv3.WithPrefix(), clientv3.WithKeysOnly())
			require.NoError(t, err)
			assert.Empty(t, left.Kvs, "keys left in etcd")
		})
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	var children []int
	for _, stat := range stats {
		fields := statFields(stat)
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(stat)))
			children = append(children, child)
		}
	}
	return children
}

// processState is pid's state ("T" stopped, "S" sleeping, "Z" zombie...), or
// "" once no such process exists.
func processState(pid int) string {
	fields := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

// statFields are the fields of a /proc/PID/stat file after the command name
// (which may hold spaces): state, parent pid, ...
func statFields(path string) []string {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return nil
	}
	s := string(data)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}
