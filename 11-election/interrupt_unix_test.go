//go:build unix

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

// Ctrl-C while the killed leader's lease counts down: the program revokes
// that lease too, so a rerun on the same etcd does not find A leading.
func TestCtrlCAfterTheKillLeavesNothing(t *testing.T) {
	t.Parallel()
	shared := workshoptest.Etcd(t)
	cmd, lines, stderr := workshoptest.Start(t, "-endpoints", strings.Join(shared.Endpoints, ","), "-ttl", "30")
	killed := false
	for !killed && lines.Scan() {
		killed = strings.HasPrefix(lines.Text(), "killing A")
	}
	require.True(t, killed, "A was never killed; stderr:\n%s", stderr.String())
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	for lines.Scan() {
	}
	err := cmd.Wait()
	assert.Equal(t, 130, cmd.ProcessState.ExitCode(), "%v; stderr:\n%s", err, stderr.String())
	assert.Empty(t, workshoptest.Leases(t, shared), "leases left in the shared etcd")
	assert.Empty(t, workshoptest.Keys(t, shared, electionName+"/"), "keys left under "+electionName)
}
