//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
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

	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
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

// go run ./etcd is a real etcd server: a client writes and reads through it,
// the terminal gets two lines and no JSON, the log goes to this run's own
// file, and Ctrl-C stops it.
func TestStandalone(t *testing.T) {
	t.Parallel()
	etcd := startEtcd(t, t.TempDir(), nil, freePorts...)
	client := etcd.serving(t)

	out, status := command(t, "health", client)
	assert.Equal(t, 0, status)
	assert.Equal(t, client+": healthy\n", out)

	cli, err := workshop.NewClient(context.Background(), []string{client}, 10*time.Second)
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = cli.Put(ctx, "/my-test-lock/solo", "held")
	require.NoError(t, err)
	resp, err := cli.Get(ctx, "/my-test-lock/solo")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, "held", string(resp.Kvs[0].Value))

	assert.Equal(t, 128+int(syscall.SIGINT), etcd.interrupt(t), "etcd dies of the signal it got, as a shell expects")
	assert.Regexp(t, `^etcd: serving clients at http://127\.0\.0\.1:\d+, data in \./default\.etcd \(Ctrl-C stops it\), log in
    `+regexp.QuoteMeta(etcd.log())+`
etcd: stopped by Ctrl-C \(SIGINT\), data kept in \./default\.etcd
$`, etcd.output())
	assert.DirExists(t, filepath.Join(etcd.dir, "default.etcd"))
	log, err := os.ReadFile(etcd.log())
	require.NoError(t, err)
	assert.Contains(t, string(log), `"msg":"ready to serve client requests"`, "etcd's JSON log is in its file")
}

// The README's block is the output of a real run (etcd on ports of its own
// choosing instead of 2379: go test must not depend on a free 2379).
func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, func(_ context.Context, args []string, stdout, _ io.Writer) error {
		etcd := startEtcd(t, t.TempDir(), nil, append(args, freePorts...)...)
		etcd.serving(t)
		etcd.interrupt(t)
		_, err := io.WriteString(stdout, etcd.output())
		return err
	}, workshoptest.R(`/\S*/etcd-lock-workshop-etcd-pid\d+\.log`, "/tmp/etcd-lock-workshop-etcd-pid<pid>.log"))
}

// The workshop's variable is etcdctl's ETCDCTL_ENDPOINTS, which etcd's server
// does not read: exported, it changes nothing. etcd reads every ETCD_*
// variable as one of its flags: one it does not know gets one line.
func TestEnvironment(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env     string
		says    string
		logSays string
	}{
		{env: "ETCDCTL_ENDPOINTS=http://127.0.0.1:2379"},
		{
			env:     "ETCD_ENDPOINTS=http://127.0.0.1:2379",
			says:    "etcd: ETCD_ENDPOINTS is not an etcd setting, ignored (the workshop reads ETCDCTL_ENDPOINTS)\n",
			logSays: `"msg":"unrecognized environment variable"`,
		},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Parallel()
			etcd := startEtcd(t, t.TempDir(), []string{c.env}, freePorts...)
			etcd.serving(t)
			etcd.interrupt(t)
			assert.Regexp(t, "^"+regexp.QuoteMeta(c.says)+
				"etcd: serving clients at .*\n    .*\netcd: stopped by Ctrl-C \\(SIGINT\\), data kept in \\./default\\.etcd\n$", etcd.output())
			log, err := os.ReadFile(etcd.log())
			require.NoError(t, err)
			if c.logSays == "" {
				assert.NotContains(t, string(log), "unrecognized environment variable")
			} else {
				assert.Contains(t, string(log), c.logSays)
			}
		})
	}
}

// interrupt is Ctrl-C: it returns the exit status.
func (e *etcdRun) interrupt(t *testing.T) int {
	t.Helper()
	require.NoError(t, e.cmd.Process.Signal(syscall.SIGINT))
	return e.wait(t)
}
