package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

// Not ETCD_...: etcd warns about every ETCD_ variable it does not know.
const childEnv = "WORKSHOP_ETCD_CHILD"

// The test binary plays the etcd command when started by self.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		main()
	}
	os.Exit(m.Run())
}

func self(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd
}

// go run ./etcd is a real etcd server: a client writes and reads through it,
// its JSON log stays off the terminal, and Ctrl-C stops it.
func TestStandalone(t *testing.T) {
	t.Parallel()
	client, peer := freeURL(t), freeURL(t) // etcd's own flags need the ports up front
	var stderr bytes.Buffer
	server := self("--name", "solo", "--data-dir", t.TempDir(),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "solo="+peer)
	server.Stderr = &stderr
	require.NoError(t, server.Start())
	exited := make(chan struct{}) // closed once the server has exited and been reaped
	var waitErr error
	go func() {
		waitErr = server.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		server.Process.Kill()
		<-exited
	})

	// A separate process, nothing to wait on but its port: poll its health.
	deadline := time.After(30 * time.Second)
	for healthy(client) != nil {
		select {
		case <-exited:
			t.Fatalf("etcd exited: %v\n%s", waitErr, stderr.String())
		case <-deadline:
			server.Process.Kill()
			<-exited
			t.Fatalf("etcd not healthy after 30s:\n%s", stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	out, err := self("health", client).CombinedOutput()
	assert.NoError(t, err)
	assert.Equal(t, client+": healthy\n", string(out))

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

	require.NoError(t, server.Process.Signal(syscall.SIGINT))
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("etcd still running 20s after Ctrl-C")
	}
	// etcd cleans up, then dies of the signal it got, as a shell expects.
	if status, ok := server.ProcessState.Sys().(syscall.WaitStatus); assert.True(t, ok) {
		assert.True(t, status.Exited() && status.ExitStatus() == 0 || status.Signal() == syscall.SIGINT, "%v", waitErr)
	}
	assert.NotContains(t, stderr.String(), `"level"`, "etcd's JSON log belongs in its log file")
}

func TestHealthOfNoEtcd(t *testing.T) {
	t.Parallel()
	start := time.Now()
	out, err := self("health", workshoptest.Blackhole(t)).CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, string(out), "unhealthy")
	assert.Less(t, time.Since(start), 10*time.Second, "must not hang")
}

// freeURL is a loopback URL on a port that was free a moment ago: etcdmain,
// unlike embed, cannot report the port it got for :0.
func freeURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return "http://127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
