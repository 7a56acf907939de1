package lock_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshoptest"
)

// The core of the lock's safety: a waiter whose predecessor leaves does not
// take the lock while an older key remains. H holds, W1 queues, W2 queues
// behind W1; W1 gives up (its context ends, its key goes). W2 must keep
// waiting until H unlocks.
func TestWaiterBehindAWaiterWhoGivesUpKeepsWaiting(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	const pfx = "/behind"
	h := lock.NewMutex(session(t, etcd), pfx)
	require.NoError(t, h.Lock(ctx))

	s1 := session(t, etcd)
	w1ctx, giveUp := context.WithCancel(ctx)
	w1done := make(chan error, 1)
	go func() { w1done <- lock.NewMutex(s1, pfx).Lock(w1ctx) }()
	waitForKey(t, etcd, keyOf(pfx, s1))

	c := newSpy(t, etcd, etcd.Endpoints[0])
	s2 := c.session(t, 60)
	w2 := lock.NewMutex(s2, pfx)
	w2done := make(chan error, 1)
	go func() { w2done <- w2.Lock(ctx) }()
	c.waitCreated(t, 1, w2done) // W2 watches W1's key
	watches := c.watches.Load()

	giveUp()
	require.ErrorIs(t, <-w1done, context.Canceled)
	// W2 sees W1's key go, finds H still ahead, and watches H's key instead.
	c.waitCreated(t, 1, w2done)
	assert.Greater(t, c.watches.Load(), watches, "W2 watches again")
	select {
	case err := <-w2done:
		t.Fatalf("W2's Lock returned (%v) while H holds the lock", err)
	default:
	}

	require.NoError(t, h.Unlock(ctx))
	select {
	case err := <-w2done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("W2 did not get the lock after H unlocked")
	}
	assert.Greater(t, w2.Revision(), h.Revision(), "W2's token outranks H's")
	assert.NoError(t, w2.Unlock(ctx))
}

// A blocked waiter costs a bounded number of requests, whatever else etcd is
// doing: here a client a few milliseconds away from etcd waits 2 s while
// other clients write unrelated keys as fast as they can.
func TestWaitingCostsBoundedRequests(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	const pfx = "/bounded"
	h := lock.NewMutex(session(t, etcd), pfx)
	require.NoError(t, h.Lock(ctx))

	wctx, stopWriting := context.WithCancel(ctx)
	var writers sync.WaitGroup
	for i := 0; i < 2; i++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for n := 0; wctx.Err() == nil; n++ {
				etcd.Client.Put(wctx, fmt.Sprintf("/unrelated/%d", i), fmt.Sprint(n))
			}
		}()
	}
	defer func() { stopWriting(); writers.Wait() }()

	c := newSpy(t, etcd, etcd.Endpoints[0])
	c.latency = 5 * time.Millisecond
	s := c.session(t, 60)
	w := lock.NewMutex(s, pfx)
	done := make(chan error, 1)
	go func() { done <- w.Lock(ctx) }()
	waitForKey(t, etcd, keyOf(pfx, s))
	select {
	case err := <-done:
		t.Fatalf("Lock returned (%v) while another session holds the lock", err)
	case <-time.After(2 * time.Second): // the waiter waits
	}
	requests, watches := c.requests(), c.watches.Load()
	t.Logf("while waiting 2s: %d requests, %d watches", requests, watches)
	require.NoError(t, h.Unlock(ctx))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter did not get the lock after the holder unlocked")
	}
	// The put that queues it, one read once its watch is in place; one watch.
	assert.LessOrEqual(t, requests, 3, "reads and transactions while waiting")
	assert.LessOrEqual(t, watches, int32(2), "watches while waiting")
	assert.NoError(t, w.Unlock(ctx))
}
