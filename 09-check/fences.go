package main

import (
	"context"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/fence"
	"etcd-lock-workshop/internal/workshop"
)

// The shared count, behind each of the three fences.

// ErrRefused is a write that a fence turned away, etcd's or the storage's:
// its writer no longer holds the lock.
var ErrRefused = fence.ErrRefused

var fenceKinds = []string{"none", "etcd", "token"}

// countFor is the shared count of the experiment named prefix, behind fence.
func countFor(e *workshop.Etcd, fenceKind, prefix, storeURL string) record {
	if fenceKind == "token" {
		return storeCount{storeURL}
	}
	return etcdCount{client: e.Client, key: countKey(prefix), fenced: fenceKind == "etcd"}
}

func countKey(prefix string) string { return prefix + "/count" }

// record is the shared count, read and written by the holder of the lock.
type record interface {
	Read(ctx context.Context, m mutex) (int, error)
	Write(ctx context.Context, m mutex, count int) error
}

// etcdCount is a count kept in etcd. Unfenced, a write is the article's plain
// Put: etcd takes it from anyone. Fenced, it is one transaction that writes
// only if the writer's lock key is still the one it created.
type etcdCount struct {
	client *clientv3.Client
	key    string
	fenced bool
}

func (r etcdCount) Read(ctx context.Context, _ mutex) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := r.client.Get(ctx, r.key)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

func (r etcdCount) Write(ctx context.Context, m mutex, count int) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	put := clientv3.OpPut(r.key, strconv.Itoa(count))
	if !r.fenced {
		_, err := r.client.Do(ctx, put)
		return err
	}
	resp, err := r.client.Txn(ctx).If(m.IsOwner()).Then(put).Commit()
	if err == nil && !resp.Succeeded {
		return fmt.Errorf("%w by etcd: the lock key is gone", ErrRefused)
	}
	return err
}

// storeCount is the count in the storage outside etcd (internal/fence, as in
// 07), reached over HTTP with the holder's token.
type storeCount struct{ url string }

func (r storeCount) Read(ctx context.Context, m mutex) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	return fence.Client{URL: r.url}.Read(ctx, m.Token())
}

func (r storeCount) Write(ctx context.Context, m mutex, count int) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	return fence.Client{URL: r.url}.Write(ctx, m.Token(), count)
}
