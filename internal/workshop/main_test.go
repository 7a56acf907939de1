package workshop_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, holdEtcd) }

// holdEtcd is a chapter in miniature: it starts an embedded etcd, says where
// its data is, and waits for the end. A test plays it in a child process.
func holdEtcd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("hold", stderr)
	flags := workshop.EtcdFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("etcd-lock-workshop-etcd-pid%d-*", os.Getpid())))
	fmt.Fprintln(stdout, "ready", dirs)
	for range 10 { // a closed pipe is seen on a write, as in a chapter that prints
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
			fmt.Fprintln(stdout, "working")
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

// A SIGKILLed run cannot clean up: the next run removes what it left.
func TestStaleDirsOfDeadProcessesAreRemoved(t *testing.T) {
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	dead := cmd.Process.Pid // exited and reaped: no process has this id now
	stale := filepath.Join(os.TempDir(), fmt.Sprintf("etcd-lock-workshop-etcd-pid%d-test", dead))
	require.NoError(t, os.MkdirAll(stale, 0o755))
	t.Cleanup(func() { os.RemoveAll(stale) })
	mine, err := cli.TempDir("test")
	require.NoError(t, err)
	defer os.RemoveAll(mine)
	assert.NoDirExists(t, stale, "the dead process's dir")
	assert.DirExists(t, mine)
}

// A child that fails before printing what WaitFor waits for: the error is its
// own one line, not its whole stderr.
func TestChildErrorIsItsOwnLine(t *testing.T) {
	t.Parallel()
	dead := workshoptest.Blackhole(t)
	child, err := proc.Start(context.Background(), "-endpoints", dead, "-dial-timeout", "200ms")
	require.NoError(t, err)
	defer child.Stop()
	_, err = child.WaitFor("ready", nil, time.Minute)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "cannot reach etcd at "+dead+" within 200ms"), err.Error())
	assert.NotContains(t, err.Error(), "\n")
}
