package lock

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// waitTurn waits until no key older than this session's remains, and returns
// the header of the moment it found so: the fencing token.
func (m *Mutex) waitTurn(ctx context.Context, next *ahead) (*pb.ResponseHeader, error) {
	for {
		if next.pred == "" {
			var hdr *pb.ResponseHeader
			var err error
			if next, hdr, err = m.readAhead(ctx); err != nil || next == nil {
				return hdr, err
			}
		}
		var hdr *pb.ResponseHeader
		var err error
		if next, hdr, err = m.waitDelete(ctx, next); err != nil || hdr != nil {
			return hdr, err
		}
	}
}

// readAhead reads the newest two keys older than this session's, as long as
// its key is still its own: no key at all means this session holds the lock
// (it returns nil and the header). It does not use the range's Count, which
// etcd counts before applying WithMaxCreateRev.
func (m *Mutex) readAhead(ctx context.Context) (*ahead, *pb.ResponseHeader, error) {
	older := clientv3.OpGet(m.pfx, clientv3.WithPrefix(), clientv3.WithMaxCreateRev(m.rev-1),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend),
		clientv3.WithLimit(2), clientv3.WithKeysOnly())
	resp, err := m.s.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(m.key), "=", m.rev)).Then(older).Commit()
	if err != nil {
		return nil, nil, err
	}
	if !resp.Succeeded {
		return nil, nil, concurrency.ErrSessionExpired
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, resp.Header, nil
	}
	return &ahead{pred: string(kvs[0].Key), only: len(kvs) == 1, rev: resp.Header.Revision}, nil, nil
}

// waitDelete waits for the delete of a.pred, which existed at revision a.rev.
// It returns the header of that delete if it hands this session the lock, or
// what is ahead now (pred "" if unknown) for the next wait. If this session's
// own key goes first, the session has expired: it stops waiting at once
// (etcd issue #19597).
func (m *Mutex) waitDelete(ctx context.Context, a *ahead) (*ahead, *pb.ResponseHeader, error) {
	// Ends when the session does: a Watch call blocks while etcd cannot be reached.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.s.Ctx(), cancel)()
	// One watch on the range from one key to the other sees both deletes in
	// revision order; the deletes of other keys in between are ignored.
	from, to := min(a.pred, m.key), max(a.pred, m.key)
	// No start revision: the watch starts after etcd's current revision and
	// is synced, so a delete reaches it at once, not at the next resync.
	wch := m.s.Client().Watch(wctx, from, clientv3.WithRange(to+"\x00"),
		clientv3.WithFilterPut(), clientv3.WithCreatedNotify())
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				return nil, nil, m.watchClosed(ctx)
			}
			if err := wr.Err(); err != nil {
				if errors.Is(err, rpctypes.ErrCompacted) {
					// The watch resumed after a broken connection from a
					// revision etcd has compacted since: read again.
					return &ahead{}, nil, nil
				}
				return nil, nil, err
			}
			if wr.Created {
				if wr.Header.Revision <= a.rev {
					continue // nothing written since the read: the watch sees every later delete
				}
				// Something was written between the read and the watch: read
				// again, now that the watch sees every later delete. Once per watch.
				next, hdr, err := m.readAhead(ctx)
				if err != nil || next == nil || next.pred != a.pred {
					return next, hdr, err
				}
				a = next
				continue
			}
			// Our own key first: one transaction can delete it together with
			// pred, and then the lock is not ours.
			deletedPred := false
			for _, ev := range wr.Events {
				switch string(ev.Kv.Key) {
				case m.key:
					return nil, nil, concurrency.ErrSessionExpired
				case a.pred:
					deletedPred = true
				}
			}
			if deletedPred {
				// Our predecessor was the only older key: no key can become
				// older than ours, so its delete hands us the lock.
				if a.only {
					return nil, wr.Header, nil
				}
				return &ahead{}, nil, nil // a waiter ahead gave up: who is ahead now?
			}
		case <-wctx.Done():
			return nil, nil, m.watchClosed(ctx)
		}
	}
}

// watchClosed says why a waiter's watch ended: the caller gave up, the
// session ended, or the client is closing.
func (m *Mutex) watchClosed(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.s.Ctx().Err() != nil {
		return concurrency.ErrSessionExpired
	}
	return errors.New("lock: watch closed")
}
