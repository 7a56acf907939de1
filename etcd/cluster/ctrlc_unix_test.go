//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ctrl-C with the leader down: 06 starts it again, cleans up, and exits as
// Ctrl-C's.
func ctrlCWithTheLeaderDown(ctx context.Context, t *testing.T, sixBin string, sixArgs []string) {
	t.Helper()
	sigint := exec.CommandContext(ctx, sixBin, sixArgs...)
	pipe, err := sigint.StdoutPipe()
	require.NoError(t, err)
	var sigintErr bytes.Buffer
	sigint.Stderr = &sigintErr
	require.NoError(t, sigint.Start())
	lines := bufio.NewScanner(pipe)
	for lines.Scan() && !strings.Contains(lines.Text(), "stopping the leader") {
	}
	require.NoError(t, sigint.Process.Signal(os.Interrupt))
	io.Copy(io.Discard, pipe)
	err = sigint.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, sigintErr.String())
	assert.Equal(t, 130, exit.ExitCode(), sigintErr.String())
	assert.Regexp(t, `starting etcd\d again, which 06 stopped`, sigintErr.String())
}
