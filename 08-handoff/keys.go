package main

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// keyPrefix holds every key this chapter writes: the write it times, and
// the locks' keys (which go with their sessions' leases).
const keyPrefix = "/handoff/"

// deleteKeys removes the chapter's keys from etcd.
func deleteKeys(ctx context.Context, etcd *workshop.Etcd) error {
	return etcd.Remove(ctx, keyPrefix, clientv3.WithPrefix())
}
