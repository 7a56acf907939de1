// Chapter 12, past the article: the article's counter, 100 goroutines, but
// the count is a key in etcd, and it is counted three ways: under the lock
// (as 03 does), with a transaction that compares the key's ModRevision and
// retries (compare-and-swap), and with concurrency.NewSTM, which retries for
// you. All three print count: 100. The lesson: etcd's lock is for what etcd
// cannot guard; for a value in etcd, a transaction is simpler, and faster
// unless many write the one key at once (rounds.go measures both).
package main

import (
	"context"
	"strconv"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

const counterKey = "/my-test-counter"

// incrWithLocker is 03's goroutine with the count in etcd: a session of its
// own, then, times times, lock, read, write, unlock.
func incrWithLocker(ctx context.Context, etcd *workshop.Etcd, times int) (retries int, err error) {
	session, err := etcd.NewSession(ctx, 60)
	if err != nil {
		return 0, err
	}
	defer etcd.CloseSession(ctx, session) // its revoke also frees a lock Unlock could not
	mutex := concurrency.NewMutex(session, "/my-test-lock")
	for range times {
		if err := mutex.Lock(ctx); err != nil {
			return 0, err
		}
		resp, err := etcd.Client.Get(ctx, counterKey)
		if err == nil {
			_, err = etcd.Client.Put(ctx, counterKey, strconv.Itoa(count(resp.Kvs)+1))
		}
		if err != nil {
			return 0, err
		}
		if err := mutex.Unlock(ctx); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// incrWithTxn is compare-and-swap: write count+1 only if the key is still
// the one read (same ModRevision); if not, the Else branch has the new one: retry.
func incrWithTxn(ctx context.Context, etcd *workshop.Etcd, times int) (retries int, err error) {
	for range times {
		n, err := casOnce(ctx, etcd)
		retries += n
		if err != nil {
			return retries, err
		}
	}
	return retries, nil
}

func casOnce(ctx context.Context, etcd *workshop.Etcd) (retries int, err error) {
	resp, err := etcd.Client.Get(ctx, counterKey)
	if err != nil {
		return 0, err
	}
	kvs := resp.Kvs
	for {
		modRev := int64(0) // 0: the key does not exist yet
		if len(kvs) > 0 {
			modRev = kvs[0].ModRevision
		}
		txn, err := etcd.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(counterKey), "=", modRev)).
			Then(clientv3.OpPut(counterKey, strconv.Itoa(count(kvs)+1))).
			Else(clientv3.OpGet(counterKey)).
			Commit()
		if err != nil {
			return retries, err
		}
		if txn.Succeeded {
			return retries, nil
		}
		retries++ // another goroutine wrote first: start again from its value
		kvs = txn.Responses[0].GetResponseRange().Kvs
	}
}

// incrWithSTM is the same read and write in a software transaction: at
// commit, etcd checks that nothing it read has changed (serializable
// isolation, NewSTM's default), and NewSTM runs the function again if it has.
func incrWithSTM(ctx context.Context, etcd *workshop.Etcd, times int) (retries int, err error) {
	for range times {
		runs := 0
		_, err = concurrency.NewSTM(etcd.Client, func(stm concurrency.STM) error {
			runs++
			n, _ := strconv.Atoi(stm.Get(counterKey))
			stm.Put(counterKey, strconv.Itoa(n+1))
			return nil
		}, concurrency.WithAbortContext(ctx))
		retries += runs - 1
		if err != nil {
			return retries, err
		}
	}
	return retries, nil
}

// count is the counter's value: 0 where the key does not exist yet.
func count(kvs []*mvccpb.KeyValue) int {
	if len(kvs) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(string(kvs[0].Value))
	return n
}
