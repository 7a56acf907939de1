//go:build unix

package cli_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A cleanup that takes more than a couple of seconds after Ctrl-C says so,
// then the program exits as Ctrl-C's: the learner is never left guessing.
func TestSlowCleanupSaysSo(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	interruptWhenReady(t, cmd, "slow-cleanup")
	time.AfterFunc(30*time.Second, func() { stdin.Close() }) // without a notice, the test still ends
	lines := bufio.NewScanner(stderr)
	require.True(t, lines.Scan(), "no notice while cleaning up")
	assert.Equal(t, "Ctrl-C (SIGINT): still cleaning up (leases, child processes), each step within a deadline",
		lines.Text())
	stdin.Close() // the cleanup ends
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	cmd.Wait()
	assert.Equal(t, "stopped by Ctrl-C (SIGINT): cleaned up and exited", strings.Join(rest, "\n"))
	assert.Equal(t, 130, cmd.ProcessState.ExitCode())
}

// A program that could not undo something after Ctrl-C has named it, and
// its last line does not say that it cleaned up.
func TestLeftBehindIsNotCleanedUp(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	interruptWhenReady(t, cmd, "leaves-a-key")
	cmd.Wait()
	assert.Equal(t, "etcd: /my-test-counter not deleted (context deadline exceeded)\n"+
		"stopped by Ctrl-C (SIGINT): exited; what it could not clean up is named above\n", stderr.String())
	assert.Equal(t, 130, cmd.ProcessState.ExitCode())
}

// interruptWhenReady starts cmd as a program of role (see TestMain), and
// sends it SIGINT once it says it is ready; it is killed at cleanup.
func interruptWhenReady(t *testing.T, cmd *exec.Cmd, role string) {
	t.Helper()
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	ready, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", ready)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
}
