package workshoptest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// RoomUser and RoomPassword are AuthEtcd's learner.
const RoomUser, RoomPassword = "room", "room-secret"

// AuthEtcd starts an embedded etcd with authentication on: a root user, and
// RoomUser, whose role may read and write only under prefixes (and read the
// key a client checks etcd with). It returns etcd's client URL.
func AuthEtcd(t testing.TB, prefixes ...string) string {
	t.Helper()
	etcd := Etcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), etcd.Timeout)
	defer cancel()
	auth := etcd.Client.Auth
	_, err := auth.RoleAdd(ctx, "learner")
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
	return etcd.Endpoints[0]
}
