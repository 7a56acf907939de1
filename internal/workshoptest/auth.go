package workshoptest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/crypto/bcrypt"

	"etcd-lock-workshop/internal/workshop"
)

// RoomUser and RoomPassword are AuthEtcd's learner.
const RoomUser, RoomPassword = "room", "room-secret"

// AuthEtcd starts an embedded etcd with authentication on: a root user, and
// RoomUser, whose role may read and write only under prefixes (and read the
// key a client checks etcd with). It returns etcd's client URL.
func AuthEtcd(t testing.TB, prefixes ...string) string {
	t.Helper()
	// bcrypt's least cost: a password check under -race takes 30 ms, not 0.8 s.
	embedded, err := workshop.StartEmbedded(context.Background(), workshop.EmbeddedOptions{BcryptCost: uint(bcrypt.MinCost)})
	require.NoError(t, err)
	t.Cleanup(embedded.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := workshop.NewClient(ctx, []string{embedded.URL}, 10*time.Second)
	require.NoError(t, err)
	defer cli.Close()
	auth := cli.Auth
	_, err = auth.RoleAdd(ctx, "learner")
	require.NoError(t, err)
	_, err = auth.RoleGrantPermission(ctx, "learner", workshop.HealthKey, "", clientv3.PermissionType(clientv3.PermRead))
	require.NoError(t, err)
	for _, prefix := range prefixes {
		_, err = auth.RoleGrantPermission(ctx, "learner", prefix, clientv3.GetPrefixRangeEnd(prefix),
			clientv3.PermissionType(clientv3.PermReadWrite))
		require.NoError(t, err)
	}
	for _, u := range []struct{ name, password, role string }{{"root", "root-secret", "root"}, {RoomUser, RoomPassword, "learner"}} {
		_, err = auth.UserAdd(ctx, u.name, u.password)
		require.NoError(t, err)
		_, err = auth.UserGrantRole(ctx, u.name, u.role)
		require.NoError(t, err)
	}
	_, err = auth.AuthEnable(ctx)
	require.NoError(t, err)
	return embedded.URL
}
