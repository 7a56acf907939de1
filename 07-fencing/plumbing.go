package main

// Plumbing: the stage of an act and its referee. Nothing here is the lesson.

import (
	"context"
	"io"
	"strconv"
	"time"

	"etcd-lock-workshop/internal/fence"
	"etcd-lock-workshop/internal/workshop"
)

// Act is one play of the lesson: the etcd, the fence every write goes
// through, and (act 3) the storage service that keeps the record.
type Act struct {
	etcd    *workshop.Etcd
	fence   Fence
	ttl     int
	out     io.Writer      // the timeline
	storage *fence.Client  // act 3: how holders reach the storage
	service *fence.Storage // act 3, in the process that runs it: the storage itself
}

// setStage puts count=0 where the act keeps it: in etcd (acts 1 and 2), or in
// a new storage service (act 3). closeStage stops the service.
func (act *Act) setStage(ctx context.Context) (closeStage func(), err error) {
	if act.fence != TokenFence {
		rctx, cancel := act.etcd.WithTimeout(ctx)
		defer cancel()
		_, err := act.etcd.Client.Put(rctx, recordKey, "0")
		return func() {}, err
	}
	act.service = &fence.Storage{}
	url, stop, err := fence.Serve(act.service)
	if err != nil {
		return nil, err
	}
	act.storage = &fence.Client{URL: url}
	return stop, nil
}

// count is the record's final value, read by the referee, not through a fence.
func (act *Act) count(ctx context.Context) (int, error) {
	if act.service != nil {
		return act.service.Count(), nil
	}
	rctx, cancel := act.etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := act.etcd.Client.Get(rctx, recordKey)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

// deleteRecord removes the record from etcd, so that a shared etcd keeps
// nothing of the chapter, also after Ctrl-C (not with the cancelled ctx).
// The lock keys go with their leases.
func deleteRecord(ctx context.Context, etcd *workshop.Etcd) error {
	return etcd.Remove(ctx, recordKey)
}

// wait bounds every wait on another client: A's start-up, a lease's expiry.
func (act *Act) wait() time.Duration {
	return 3*time.Duration(act.ttl)*time.Second + 2*act.etcd.Timeout
}
