package main

// Plumbing: a network that loses one answer, on purpose.

import (
	"context"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// lossyKV is a client's KV whose next write, once armed, reaches etcd and is
// applied, but whose answer is lost on the way back: the caller gets
// context.DeadlineExceeded, as when the answer comes after its deadline. It
// wraps the client's KV the way etcd's namespace package does (client.KV =
// namespace.NewKV(client.KV, prefix)), so etcd's Mutex and the workshop's
// lock use it without knowing.
type lossyKV struct {
	clientv3.KV
	loseNext atomic.Bool
}

// LoseNextAnswer arms the loss: the next Delete or Txn loses its answer.
func (kv *lossyKV) LoseNextAnswer() { kv.loseNext.Store(true) }

func (kv *lossyKV) lost(err error) bool { return err == nil && kv.loseNext.CompareAndSwap(true, false) }

func (kv *lossyKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	resp, err := kv.KV.Delete(ctx, key, opts...)
	if kv.lost(err) {
		return nil, context.DeadlineExceeded
	}
	return resp, err
}

func (kv *lossyKV) Txn(ctx context.Context) clientv3.Txn { return &lossyTxn{kv.KV.Txn(ctx), kv} }

type lossyTxn struct {
	clientv3.Txn
	kv *lossyKV
}

func (t *lossyTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *lossyTxn) Then(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(ops...); return t }
func (t *lossyTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }

func (t *lossyTxn) Commit() (*clientv3.TxnResponse, error) {
	resp, err := t.Txn.Commit()
	if t.kv.lost(err) {
		return nil, context.DeadlineExceeded
	}
	return resp, err
}

// LossySession returns a session on a client of its own whose KV can lose an answer.
func (p *Play) LossySession(ctx context.Context) (*concurrency.Session, *lossyKV, error) {
	client, err := p.Client(ctx)
	if err != nil {
		return nil, nil, err
	}
	kv := &lossyKV{KV: client.KV}
	client.KV = kv
	session, err := p.Session(ctx, client, 60)
	return session, kv, err
}
