package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/fence"
)

const (
	lockName  = "/my-test-lock"
	recordKey = "/fencing/count" // the shared record of acts 1 and 2, kept in etcd
)

// Fence is how a holder's writes are guarded.
type Fence string

const (
	NoFence    Fence = "none"  // act 1: the article's plain Put
	EtcdFence  Fence = "etcd"  // act 2: Txn If(mutex.IsOwner())
	TokenFence Fence = "token" // act 3: the lock's revision, checked by the storage
)

// ErrRefused is a write that a fence turned away, etcd's or the storage's:
// its writer does not hold the lock.
var ErrRefused = fence.ErrRefused

// Holder is one client holding the lock: its session (the lease), its mutex,
// and the fencing token it got with the lock.
type Holder struct {
	Name    string
	Token   int64 // etcd's revision when it got the lock: grows from one holder to the next
	session *concurrency.Session
	mutex   *concurrency.Mutex
	act     *Act
}

// Lock is the article's program with the token kept: a session with a
// ttl-second lease, and its mutex on /my-test-lock.
func (act *Act) Lock(ctx context.Context, name string) (*Holder, error) {
	session, err := act.etcd.NewSession(ctx, act.ttl)
	if err != nil {
		return nil, err
	}
	mutex := concurrency.NewMutex(session, lockName)
	lctx, cancel := context.WithTimeout(ctx, act.wait()) // a stuck lock is an error, not a hang
	defer cancel()
	if err := mutex.Lock(lctx); err != nil {
		act.etcd.CloseSession(ctx, session) // revoked even after Ctrl-C: the queued key goes with it
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("%s: %s still held after %s: a live holder's keepalives keep it", name, lockName, act.wait())
		}
		return nil, fmt.Errorf("%s: lock %s: %w", name, lockName, err)
	}
	return act.holder(name, session, mutex), nil
}

func (act *Act) holder(name string, session *concurrency.Session, mutex *concurrency.Mutex) *Holder {
	return &Holder{Name: name, Token: fencingToken(mutex), session: session, mutex: mutex, act: act}
}

// fencingToken is the revision at which mutex got the lock, or 0, no token
// (which the storage refuses), when it does not hold it: etcd's Mutex sets
// its header only when it gets the lock, and its key to "\x00" when it gives
// up (a failed TryLock) or unlocks.
func fencingToken(mutex *concurrency.Mutex) int64 {
	if mutex.Header() == nil || !strings.HasPrefix(mutex.Key(), lockName+"/") {
		return 0
	}
	return mutex.Header().Revision
}

// Read reads the shared count.
func (h *Holder) Read(ctx context.Context) (int, error) {
	rctx, cancel := h.act.etcd.WithTimeout(ctx)
	defer cancel()
	if h.act.fence == TokenFence {
		return h.act.storage.Read(rctx, h.Token) // the storage sees the token on reads too
	}
	resp, err := h.act.etcd.Client.Get(rctx, recordKey)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

// Write writes the count back, through the holder's fence.
func (h *Holder) Write(ctx context.Context, count int) error {
	rctx, cancel := h.act.etcd.WithTimeout(ctx)
	defer cancel()
	switch h.act.fence {
	case NoFence:
		// Act 1, the article's write: etcd takes it from anyone, lock or no lock.
		_, err := h.act.etcd.Client.Put(rctx, recordKey, strconv.Itoa(count))
		return err
	case EtcdFence:
		// Act 2: write only if my lock key is still the one I created, in one
		// transaction. Once my lease has expired, etcd has deleted that key; a
		// mutex that never got the lock compares a key that cannot exist.
		resp, err := h.act.etcd.Client.Txn(rctx).
			If(h.mutex.IsOwner()).
			Then(clientv3.OpPut(recordKey, strconv.Itoa(count))).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return fmt.Errorf("%w by etcd: %s no longer owns %s", ErrRefused, h.Name, lockName)
		}
		return nil
	default:
		// Act 3: the token goes with the write; the storage, not etcd, checks it.
		return h.act.storage.Write(rctx, h.Token, count)
	}
}

// Incr is every holder's work under the lock: read the count, add one, write
// it back. stall is where a pause hurts most: after the holder's last look at
// its session, before its write.
func (h *Holder) Incr(ctx context.Context, stall func()) error {
	count, err := h.Read(ctx)
	if err != nil {
		return fmt.Errorf("%s: read: %w", h.Name, err)
	}
	cli.Logf(h.act.out, "%s: read count=%d", h.Name, count)
	// The holder's own guard: once its session is gone, it stops...
	select {
	case <-h.session.Done():
		return fmt.Errorf("%s: lost the lock: session expired; not writing", h.Name)
	default:
	}
	cli.Logf(h.act.out, "%s: session alive, still the holder: writing count=%d", h.Name, count+1)
	stall() // ...but nothing stops a pause that comes after the look
	err = h.Write(ctx, count+1)
	if errors.Is(err, ErrRefused) {
		cli.Logf(h.act.out, "%s: write of count=%d %v", h.Name, count+1, err)
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: write: %w", h.Name, err)
	}
	cli.Logf(h.act.out, "%s: wrote count=%d", h.Name, count+1)
	return nil
}

// Unlock releases the lock and revokes the lease, also after Ctrl-C (not with
// the cancelled ctx). For a holder whose lease has expired both are no-ops:
// its key is gone already, and the next holder's key is another one.
func (h *Holder) Unlock(ctx context.Context) {
	rctx, cancel := h.act.etcd.WithTimeout(context.WithoutCancel(ctx))
	defer cancel()
	h.mutex.Unlock(rctx)
	h.act.etcd.CloseSession(ctx, h.session)
}
