package workshoptest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

// HoldLock takes the lock name on etcd, in a session of its own, as another
// program in a shared etcd would; it lets go at cleanup.
func HoldLock(t testing.TB, etcd *workshop.Etcd, name string) *concurrency.Mutex {
	t.Helper()
	ctx := context.Background()
	session, err := etcd.NewSession(ctx, 60)
	require.NoError(t, err)
	t.Cleanup(func() { etcd.CloseSession(ctx, session) })
	m := concurrency.NewMutex(session, name)
	require.NoError(t, m.TryLock(ctx))
	return m
}
