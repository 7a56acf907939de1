package workshop

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeaseCountdown shows on live how many seconds lease has left (label says whose),
// polled every 200 ms, until the lease is gone or ctx ends. It is a diagnostic only: a chapter
// synchronises on etcd's events (a watch, Lock returning), never on this.
func (e *Etcd) LeaseCountdown(ctx context.Context, lease clientv3.LeaseID, live *LiveLine, label string) {
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
				live.Update("%s: lease %x expired", label, lease)
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
