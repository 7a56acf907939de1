package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildPrograms builds the module's packages into a temp dir, without
// -race: a room of learners is real programs, at their real speed (etcd
// checks each learner's password with bcrypt, which -race slows tenfold).
func buildPrograms(t testing.TB, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, pkg := range pkgs {
		out, err := exec.Command("go", "build", "-o", dir, "etcd-lock-workshop/"+pkg).CombinedOutput()
		require.NoError(t, err, "go build %s: %s", pkg, out)
	}
	return dir
}

// roomProcess runs dir's room on loopback, as a process stopped by Ctrl-C at
// cleanup, and returns the learners' arguments and root's password.
func roomProcess(t testing.TB, dir string) (args []string, rootPassword string) {
	t.Helper()
	room := exec.Command(filepath.Join(dir, "room"), "-listen", "127.0.0.1:0", "-view", "127.0.0.1:0")
	stdout, err := room.StdoutPipe()
	require.NoError(t, err)
	stderr, err := room.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, room.Start())
	stopped := make(chan error, 1)
	t.Cleanup(func() {
		room.Process.Signal(os.Interrupt)
		select {
		case err := <-stopped:
			var exit *exec.ExitError
			if assert.ErrorAs(t, err, &exit) {
				assert.Equal(t, 130, exit.ExitCode(), "the room after Ctrl-C: 128 + SIGINT, cleaned up")
			}
		case <-time.After(30 * time.Second):
			room.Process.Kill()
			t.Error("the room did not stop within 30 s of Ctrl-C")
		}
	})
	const rootSays = "root password (for your terminal only): "
	for lines := bufio.NewScanner(stderr); rootPassword == "" && lines.Scan(); {
		if password, ok := strings.CutPrefix(lines.Text(), rootSays); ok {
			rootPassword = password
		}
	}
	go io.Copy(io.Discard, stderr)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { io.Copy(io.Discard, stdout); stopped <- room.Wait() }() // Wait after the last read
	require.NoError(t, err)
	require.NotEmpty(t, rootPassword)
	command, ok := strings.CutPrefix(strings.TrimSpace(line), "learners run: go run ./03-etcd-lock ")
	require.True(t, ok, line)
	return strings.Fields(command), rootPassword
}
