package workshoptest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// Leases are the leases etcd still keeps: each session's, until revoked or expired.
func Leases(t testing.TB, etcd *workshop.Etcd) []clientv3.LeaseStatus {
	t.Helper()
	ctx, cancel := etcd.WithTimeout(context.Background())
	defer cancel()
	resp, err := etcd.Client.Leases(ctx)
	require.NoError(t, err)
	return resp.Leases
}

// Keys are the keys under prefix, such as "/my-test-lock/": one per holder or waiter.
func Keys(t testing.TB, etcd *workshop.Etcd, prefix string) []string {
	t.Helper()
	ctx, cancel := etcd.WithTimeout(context.Background())
	defer cancel()
	resp, err := etcd.Client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys
}
