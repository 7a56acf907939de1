// The workshop's staging, not the lesson: probes that show, during the second
// window's work, that the lock outlives its TTL.
package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lockview"
	"etcd-lock-workshop/internal/workshop"
)

// showKeepalive probes the lock every few seconds of the work and prints that
// it is still ours: our key still owns /my-test-lock and its lease has time
// left, also once the work has lasted longer than the TTL, because the session
// renews the lease every TTL/3. The probes only read: one that tried the lock
// could take it the moment the work ends. Call stop before the release.
func showKeepalive(ctx context.Context, etcd *workshop.Etcd, ttl int, work time.Duration, stdout io.Writer) (stop func()) {
	lease := time.Duration(ttl) * time.Second
	if work > lease {
		fmt.Fprintf(stdout, "working %s, longer than the %ds TTL: the session renews its lease every %s (TTL/3), so the lock stays ours\n",
			work, ttl, cli.Seconds(lease/3))
	} else {
		fmt.Fprintf(stdout, "working %s, within the %ds TTL (try -work %ds to watch the lock outlive its TTL)\n", work, ttl, 3*ttl)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		ours, err := lockview.Owner(ctx, etcd, lockName) // we hold the lock: its owner is our key
		if err != nil || ours == nil {
			return
		}
		// Every half TTL, at least once a second and at most every 10 s: a handful of lines.
		tick := time.NewTicker(min(max(lease/2, time.Second), 10*time.Second))
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			left, ok := stillOurs(ctx, etcd, ours.CreateRevision, clientv3.LeaseID(ours.Lease))
			if !ok { // released, or lost: lockWorkUnlock says which
				return
			}
			fmt.Fprintf(stdout, "probe %d, %s into the work: %s is still ours, its lease has under %ds left\n",
				n, cli.Seconds(time.Since(start)), lockName, left+1)
		}
	}()
	return sync.OnceFunc(func() { cancel(); <-done })
}

// stillOurs reports whether the key created at revision created still owns
// the lock, and how many whole seconds its lease has left.
func stillOurs(ctx context.Context, etcd *workshop.Etcd, created int64, lease clientv3.LeaseID) (left int64, ok bool) {
	owner, err := lockview.Owner(ctx, etcd, lockName)
	if err != nil || owner == nil || owner.CreateRevision != created {
		return 0, false
	}
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := etcd.Client.TimeToLive(rctx, lease)
	if err != nil || resp.TTL < 0 {
		return 0, false
	}
	return resp.TTL, true
}
