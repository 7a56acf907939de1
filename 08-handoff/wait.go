package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// withTimeout calls f with a context that ends after d.
func withTimeout(ctx context.Context, d time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return f(ctx)
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// watchPuts delivers an event each time key is put; the watch is in place
// when it returns, so no put is missed. It ends with ctx.
func watchPuts(ctx context.Context, etcd *workshop.Etcd, key string) (<-chan struct{}, error) {
	wch := etcd.Client.Watch(ctx, key, clientv3.WithFilterDelete(), clientv3.WithCreatedNotify())
	created, puts := make(chan struct{}), make(chan struct{}, 1)
	go func() {
		for wr := range wch {
			if wr.Created {
				close(created)
			}
			for range wr.Events {
				select {
				case puts <- struct{}{}:
				case <-ctx.Done():
				}
			}
		}
	}()
	if err := waitFor(ctx, created, etcd.Timeout); err != nil {
		return nil, fmt.Errorf("watch %s: %w", key, err)
	}
	return puts, nil
}

// waitFor waits for one value from ch, up to timeout.
func waitFor(ctx context.Context, ch <-chan struct{}, timeout time.Duration) error {
	select {
	case <-ch:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("nothing within %s", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}
