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
	cmd.Env = append(os.Environ(), roleEnv+"=slow-cleanup")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	ready, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", ready)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
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
