package main

import (
	"context"
	"fmt"

	"time"

	"etcd-lock-workshop/internal/workshop"
)

// writes times n Puts, each after a quiet pause, as the holder's Unlock comes
// after the waiter queued: the cost of one write, the floor of any handoff
// (the Unlock is a write). Back to back, writes are faster: etcd is warm.
func writes(ctx context.Context, etcd *workshop.Etcd, n int, pause time.Duration) (Latencies, error) {
	var lat Latencies
	for i := 0; i < n; i++ {
		if err := sleep(ctx, pause); err != nil {
			return nil, err
		}
		rctx, cancel := etcd.WithTimeout(ctx)
		start := time.Now()
		_, err := etcd.Client.Put(rctx, "/handoff/write", fmt.Sprint(i))
		lat = append(lat, time.Since(start))
		cancel()
		if err != nil {
			return nil, err
		}
	}
	return lat, nil
}
