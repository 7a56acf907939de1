//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each signal that stops go run ./etcd is named, and is its exit status, as
// a shell reports and the chapters do: SIGHUP, which reaches etcd as
// SIGTERM, too.
func TestStoppedBySignal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sig  syscall.Signal
		name string
	}{
		{syscall.SIGINT, "Ctrl-C (SIGINT)"},
		{syscall.SIGTERM, "SIGTERM"},
		{syscall.SIGHUP, "SIGHUP (terminal closed)"},
	} {
		t.Run(c.sig.String(), func(t *testing.T) {
			t.Parallel()
			etcd := startEtcd(t, t.TempDir(), nil, freePorts...)
			etcd.serving(t)
			require.NoError(t, etcd.cmd.Process.Signal(c.sig))
			assert.Equal(t, 128+int(c.sig), etcd.wait(t))
			assert.True(t, strings.HasSuffix(etcd.output(), "\netcd: stopped by "+c.name+", data kept in ./default.etcd\n"),
				etcd.output())
		})
	}
}

// A closed terminal hangs up its whole process group, etcd too, which would
// die of SIGHUP at once: it stops cleanly instead, on the SIGTERM that
// go run ./etcd passes on.
func TestTerminalClosed(t *testing.T) {
	t.Parallel()
	etcd := startEtcd(t, t.TempDir(), nil, freePorts...)
	etcd.serving(t)
	// Each thread lists the children it started.
	threads, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", etcd.cmd.Process.Pid))
	if len(threads) == 0 {
		t.Skip("no /proc to find etcd's process in")
	}
	var children string
	for _, thread := range threads {
		pids, err := os.ReadFile(thread)
		require.NoError(t, err)
		children += string(pids)
	}
	child, err := strconv.Atoi(strings.TrimSpace(children))
	require.NoError(t, err, "one child, etcd: %q", children)
	etcdProcess, err := os.FindProcess(child)
	require.NoError(t, err)
	require.NoError(t, etcdProcess.Signal(syscall.SIGHUP))
	require.NoError(t, etcd.cmd.Process.Signal(syscall.SIGHUP))
	assert.Equal(t, 128+int(syscall.SIGHUP), etcd.wait(t))
	assert.Contains(t, etcd.output(), "etcd: stopped by SIGHUP (terminal closed), data kept in ./default.etcd\n")
	log, err := os.ReadFile(etcd.log())
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(log), `"msg":"received signal; shutting down","signal":"terminated"`),
		"etcd did not stop on SIGTERM, its log: %s", etcd.log())
}
