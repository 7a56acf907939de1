package lock_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

// spy is a client of its own for one session, whose requests the test counts,
// delays and breaks. It wraps the client's KV and Watcher, which is what a
// Mutex calls (a grpc interceptor would need grpc as a direct dependency).
type spy struct {
	*clientv3.Client
	etcd         *workshop.Etcd // etcd itself, not through a relay
	latency      time.Duration  // added to every Txn, Get and Watch: a client some way from etcd
	txns, gets   atomic.Int32
	watches      atomic.Int32
	loseAnswer   atomic.Bool   // the next Txn is applied, but its answer is lost
	failTxns     atomic.Int32  // once no answer is to be lost, this many Txns fail unsent
	delayNextTxn atomic.Int64  // the next Txn takes this long (ns) before it is sent
	created      chan struct{} // one value each time etcd confirms a watch (WithCreatedNotify)
}

// newSpy connects a spied client to endpoint: etcd's, or a relay to it.
func newSpy(t *testing.T, etcd *workshop.Etcd, endpoint string) *spy {
	t.Helper()
	cli, err := workshop.NewClient(context.Background(), []string{endpoint}, 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	s := &spy{Client: cli, etcd: etcd, created: make(chan struct{}, 100)}
	cli.KV = spyKV{cli.KV, s}
	cli.Watcher = spyWatcher{cli.Watcher, s}
	return s
}

// session is a session on the spied client, with a lease of ttl seconds.
func (s *spy) session(t *testing.T, ttl int) *concurrency.Session {
	t.Helper()
	ss, err := concurrency.NewSession(s.Client, concurrency.WithTTL(ttl))
	require.NoError(t, err)
	t.Cleanup(func() {
		s.etcd.CloseSession(context.Background(), ss) // directly: a relay may be cut
	})
	return ss
}

// requests is how many reads and transactions the client has sent.
func (s *spy) requests() int { return int(s.txns.Load() + s.gets.Load()) }

// waitCreated waits until etcd has confirmed n more watches of this client.
func (s *spy) waitCreated(t *testing.T, n int, orDone <-chan error) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-s.created:
		case err := <-orDone:
			t.Fatalf("Lock returned (%v) while its predecessor still held the lock", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no watch created within 10s")
		}
	}
}

type spyKV struct {
	clientv3.KV
	s *spy
}

func (kv spyKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	kv.s.gets.Add(1)
	resp, err := kv.KV.Get(ctx, key, opts...)
	time.Sleep(kv.s.latency)
	return resp, err
}

func (kv spyKV) Txn(ctx context.Context) clientv3.Txn { return spyTxn{kv.KV.Txn(ctx), kv.s} }

type spyTxn struct {
	clientv3.Txn
	s *spy
}

func (t spyTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { return spyTxn{t.Txn.If(cs...), t.s} }
func (t spyTxn) Then(ops ...clientv3.Op) clientv3.Txn { return spyTxn{t.Txn.Then(ops...), t.s} }
func (t spyTxn) Else(ops ...clientv3.Op) clientv3.Txn { return spyTxn{t.Txn.Else(ops...), t.s} }

func (t spyTxn) Commit() (*clientv3.TxnResponse, error) {
	t.s.txns.Add(1)
	if !t.s.loseAnswer.Load() && t.s.failTxns.Add(-1) >= 0 {
		return nil, rpctypes.ErrTimeout // etcd out of reach: nothing applied
	}
	time.Sleep(time.Duration(t.s.delayNextTxn.Swap(0)))
	resp, err := t.Txn.Commit()
	time.Sleep(t.s.latency)
	if err == nil && t.s.loseAnswer.CompareAndSwap(true, false) {
		// What a client gets when etcd applied the request but the answer did
		// not come back in time: the outcome is unknown to the caller.
		return nil, rpctypes.ErrTimeout
	}
	return resp, err
}

type spyWatcher struct {
	clientv3.Watcher
	s *spy
}

func (w spyWatcher) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	w.s.watches.Add(1)
	time.Sleep(w.s.latency)
	in := w.Watcher.Watch(ctx, key, opts...)
	out := make(chan clientv3.WatchResponse)
	go func() {
		defer close(out)
		for wr := range in {
			if wr.Created {
				w.s.created <- struct{}{}
			}
			select {
			case out <- wr:
			case <-ctx.Done():
				for range in { // the watcher closes in once ctx has ended
				}
				return
			}
		}
	}()
	return out
}

// relay forwards TCP connections to etcd until it is cut: a network between a
// client and etcd that the test can break.
type relay struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func newRelay(t *testing.T, to string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &relay{ln: ln, to: to}
	t.Cleanup(func() { ln.Close(); r.Cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.forward(c)
		}
	}()
	return r
}

// URL is the relay's client URL.
func (r *relay) URL() string { return "http://" + r.ln.Addr().String() }

func (r *relay) forward(c net.Conn) {
	r.mu.Lock()
	if r.cut {
		r.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", r.to)
	if err != nil {
		r.mu.Unlock()
		c.Close()
		return
	}
	r.conns = append(r.conns, c, up)
	r.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

// Cut closes every connection, and every new one until Restore.
func (r *relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = true
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// Restore lets connections through again.
func (r *relay) Restore() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = false
}
