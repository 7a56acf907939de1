package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"etcd-lock-workshop/internal/workshop"
)

const counterKey = "/my-test-counter"

// A write sent through a follower to a leader that then crashes is lost, and
// the client learns it only at its deadline: a short one keeps the lock
// holder from making everyone wait.
const requestTimeout = time.Second

// Counter is the article's counter, kept in etcd so that every worker (every
// process) shares it. Incr reads, then writes: two workers inside at once
// would both write n+1 and lose an update. Only the lock prevents that.
type Counter struct{ etcd *workshop.Etcd }

func (c *Counter) Count(ctx context.Context) (int, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.etcd.Client.Get(rctx, counterKey)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

func (c *Counter) Incr(ctx context.Context) error {
	n, err := c.Count(ctx)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err = c.etcd.Client.Put(rctx, counterKey, strconv.Itoa(n+1)); err == nil {
		return nil
	}
	// A failed write may still have been applied: a leader can commit it and
	// crash before it answers. We still hold the lock, so nobody else writes:
	// read the counter back to learn which.
	return c.settle(ctx, n, err)
}

// errUnknown marks a write whose outcome could not be learned.
var errUnknown = errors.New("outcome unknown")

func (c *Counter) settle(ctx context.Context, n int, writeErr error) error {
	deadline := time.Now().Add(10 * requestTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		m, err := c.Count(ctx)
		switch {
		case err != nil:
			time.Sleep(50 * time.Millisecond) // an election is under way: ask again
		case m == n+1:
			return nil // applied after all
		case m == n:
			return writeErr // not applied
		default:
			return fmt.Errorf("counter went from %d to %d while we held the lock", n, m)
		}
	}
	return fmt.Errorf("write of %d failed (%v) and the counter could not be read back: %w", n+1, writeErr, errUnknown)
}

// Reset starts the counter at 0.
func (c *Counter) Reset(ctx context.Context) error {
	rctx, cancel := c.etcd.WithTimeout(ctx)
	defer cancel()
	_, err := c.etcd.Client.Put(rctx, counterKey, "0")
	return err
}

// Delete removes the counter from etcd, even after Ctrl-C: the chapter
// leaves nothing behind in a shared etcd.
func (c *Counter) Delete(ctx context.Context) error {
	rctx, cancel := c.etcd.WithTimeout(context.WithoutCancel(ctx))
	defer cancel()
	if _, err := c.etcd.Client.Delete(rctx, counterKey); err != nil {
		return fmt.Errorf("delete %s: %w", counterKey, err)
	}
	return nil
}
