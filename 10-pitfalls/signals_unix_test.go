//go:build unix

package main

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

// Ctrl-C in the middle of any pitfall: a clean exit (130), and nothing left
// in etcd, neither lease nor key.
func TestCtrlCLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, pitfall := range pitfalls {
		t.Run(pitfall.Name, func(t *testing.T) {
			t.Parallel()
			etcd := workshoptest.Etcd(t)
			child, err := proc.Start(context.Background(), pitfall.Name, "-endpoints", etcd.Endpoints[0])
			require.NoError(t, err)
			defer child.Kill()
			_, err = child.WaitFor(midWay[pitfall.Name], nil, 30*time.Second)
			require.NoError(t, err)
			require.NoError(t, child.Signal(syscall.SIGINT))
			err = child.Wait()
			var exit interface{ ExitCode() int }
			require.True(t, errors.As(err, &exit), "exit status: %v", err)
			assert.Equal(t, 130, exit.ExitCode())
			assert.Empty(t, leftInEtcd(t, etcd))
		})
	}
}
