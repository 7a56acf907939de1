package view

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// BenchmarkTenThousandWaiters is the view's work for one event on a lock
// that 10,000 sessions wait for: the holder's key deleted, the next one
// acquiring, a newcomer queued, and the page's new state as JSON (what each
// page is sent). The page draws the first shownPer entries only.
//
//	go test ./internal/view -run NONE -bench TenThousand -benchmem
func BenchmarkTenThousandWaiters(b *testing.B) {
	const waiters = 10_000
	kv := func(i int) *mvccpb.KeyValue {
		lease := int64(0x1000 + i)
		return &mvccpb.KeyValue{Key: fmt.Appendf(nil, "/my-test-lock/%x", lease), Lease: lease,
			CreateRevision: int64(i + 1), ModRevision: int64(i + 1)}
	}
	st := newState()
	var kvs []*mvccpb.KeyValue
	for i := range waiters {
		kvs = append(kvs, kv(i))
	}
	st.load(kvs, waiters, time.Now())
	alive := func(clientv3.LeaseID) bool { return false }
	next, size := waiters, 0
	for b.Loop() {
		head := kv(next - waiters)
		st.apply(int64(next+1), []*clientv3.Event{{Type: clientv3.EventTypeDelete, Kv: &mvccpb.KeyValue{Key: head.Key, ModRevision: int64(next + 1)}, PrevKv: head}},
			time.Now(), alive)
		st.apply(int64(next+2), []*clientv3.Event{{Type: clientv3.EventTypePut, Kv: kv(next)}}, time.Now(), alive)
		data, _ := json.Marshal(st.snapshot("bench", time.Now()))
		size = len(data)
		next++
	}
	b.ReportMetric(float64(size), "page-bytes")
	if got := len(st.entries); got != waiters {
		b.Fatalf("%d entries, want %d", got, waiters)
	}
}
