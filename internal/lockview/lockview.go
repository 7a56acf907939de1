// Package lockview shows a lock as etcd sees it, for a learner who waits on
// it: which key owns it, and that owner's lease counting down (04-timeout,
// 07-fencing). It is a display only: a chapter synchronises on etcd's events
// (a watch, Lock returning), never on this.
package lockview

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

// Countdown shows on live how many seconds lease has left (label says
// whose), polled every 200 ms, until the lease is gone or ctx ends.
func Countdown(ctx context.Context, e *workshop.Etcd, lease clientv3.LeaseID, live *cli.LiveLine, label string) {
	defer live.Done()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	shown := int64(-1)
	for {
		rctx, cancel := e.WithTimeout(ctx)
		resp, err := e.Client.TimeToLive(rctx, lease)
		cancel()
		if err != nil || resp.TTL == -1 { // -1: etcd has revoked the lease
			if ctx.Err() == nil && err == nil {
				live.Say("%s: lease %x expired", label, lease)
			}
			return
		}
		// etcd truncates to whole seconds (0 is under a second, or overdue
		// until the lessor's next check): say each second once.
		if resp.TTL != shown {
			live.Update("%s: lease %x expires in under %ds", label, lease, resp.TTL+1)
			shown = resp.TTL
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Owner returns the key that holds the lock named prefix (etcd's Mutex: the
// key under prefix with the oldest create revision), or nil if it is free.
func Owner(ctx context.Context, e *workshop.Etcd, prefix string) (*mvccpb.KeyValue, error) {
	rctx, cancel := e.WithTimeout(ctx)
	defer cancel()
	resp, err := e.Client.Get(rctx, strings.TrimSuffix(prefix, "/")+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return nil, fmt.Errorf("read the owner of %s: %w", prefix, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0], nil
}

// MustBeFree returns nil if the lock named prefix is free, or an error that
// says who holds it: in a shared etcd another program may, and a chapter
// whose lesson needs to be first in line says so in one line instead.
func MustBeFree(ctx context.Context, e *workshop.Etcd, prefix string) error {
	owner, err := Owner(ctx, e, prefix)
	if err == nil && owner != nil {
		err = fmt.Errorf("%s is held by another program (key %s): wait until it is free, or use another etcd", prefix, owner.Key)
	}
	return err
}

// OwnerCountdown counts down, on live, the lease of whoever holds the lock
// named prefix now, as etcd reports it: a display for a waiter. Call the
// returned stop once Lock returns; stop returns when the line is finished, so
// the next output starts on a fresh line.
func OwnerCountdown(ctx context.Context, e *workshop.Etcd, prefix string, live *cli.LiveLine) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer done.Done()
		owner, err := Owner(ctx, e, prefix)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			live.Say("%v", err)
		case owner == nil:
			live.Say("%s is free", prefix)
		default:
			Countdown(ctx, e, clientv3.LeaseID(owner.Lease), live, "owner of "+prefix)
		}
	}()
	return func() {
		cancel()
		done.Wait()
	}
}
