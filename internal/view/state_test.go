package view

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// How the view names what happened to a holder's key: deleted alone, its
// lease alive (Unlock); deleted with its lease's label, the lease about to
// run out (expired) or with time left (revoked: the program ended); and
// whoever is next in create-revision order acquires, with its token.
func TestWhatHappened(t *testing.T) {
	now := time.Now()
	lockKV := func(lease, rev int64) *mvccpb.KeyValue {
		return &mvccpb.KeyValue{Key: fmt.Appendf(nil, "/my-test-lock/%x", lease), Lease: lease, CreateRevision: rev, ModRevision: rev}
	}
	labelKV := func(lease, rev int64, name string) *mvccpb.KeyValue {
		v, _ := json.Marshal(workshop.Label{Name: name, Program: "04-timeout"})
		return &mvccpb.KeyValue{Key: []byte(workshop.LabelKey(clientv3.LeaseID(lease))), Value: v, Lease: lease, ModRevision: rev}
	}
	del := func(kv *mvccpb.KeyValue) *clientv3.Event {
		return &clientv3.Event{Type: clientv3.EventTypeDelete, Kv: &mvccpb.KeyValue{Key: kv.Key}, PrevKv: kv}
	}
	noLease := func(clientv3.LeaseID) bool { t.Error("asked etcd about a labelled lease"); return false }
	for _, tc := range []struct {
		name     string
		ttlLeft  int64 // the holder's TTL last seen, a second ago
		withExit bool  // its label deleted in the same revision: its lease ended
		want     string
	}{
		{"Unlock", 50, false, Released},
		{"lease expired", 2, true, Expired},
		{"lease revoked", 50, true, Revoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newState()
			s.load([]*mvccpb.KeyValue{labelKV(0xa, 2, "alice"), lockKV(0xa, 3), labelKV(0xb, 4, "bob"), lockKV(0xb, 5), labelKV(0xc, 6, "carol"), lockKV(0xc, 7)}, 7, now)
			s.ttls[0xa] = ttl{left: tc.ttlLeft, granted: 60, at: now.Add(-time.Second)}
			evs := []*clientv3.Event{del(lockKV(0xa, 3))}
			if tc.withExit {
				evs = append(evs, del(labelKV(0xa, 2, "alice")))
			}
			s.apply(8, evs, now, noLease)
			snap := s.snapshot("test", now)
			assert.Equal(t, []Event{
				{At: now.UnixMilli(), Kind: Acquired, Lock: "/my-test-lock", Label: "bob", Program: "04-timeout", Lease: "b", Rev: 8, Token: 5},
				{At: now.UnixMilli(), Kind: tc.want, Lock: "/my-test-lock", Label: "alice", Program: "04-timeout", Lease: "a", Rev: 8, Token: 3},
			}, snap.Events)
			assert.Equal(t, 2, snap.Locks[0].Total)
			assert.Equal(t, []string{"b", "c"}, []string{snap.Locks[0].Queue[0].Lease, snap.Locks[0].Queue[1].Lease})
			assert.True(t, snap.Locks[0].Queue[0].Holds)
			assert.False(t, snap.Locks[0].Queue[1].Holds)
		})
	}
}

// A key that is not NAME/<its own lease> is a value, such as a count.
func TestValuesAreNotLocks(t *testing.T) {
	s := newState()
	s.load([]*mvccpb.KeyValue{
		{Key: []byte("/my-test-counter"), Value: []byte("100")},
		{Key: []byte("/fencing/count/ab"), Value: []byte("1"), Lease: 0xcd}, // a lease, but not its own name
	}, 2, time.Now())
	snap := s.snapshot("test", time.Now())
	assert.Empty(t, snap.Locks)
	assert.Equal(t, []Value{{"/fencing/count/ab", "1"}, {"/my-test-counter", "100"}}, snap.Values)
}

// An election's keys hold the candidates' values: the queue is an
// election's, its first the leader, and Proclaim changes a value in place.
func TestAnElection(t *testing.T) {
	s := newState()
	s.load([]*mvccpb.KeyValue{
		{Key: []byte("/my-election/a"), Value: []byte("A"), Lease: 0xa, CreateRevision: 2, ModRevision: 2},
		{Key: []byte("/my-election/b"), Value: []byte("B"), Lease: 0xb, CreateRevision: 3, ModRevision: 3},
	}, 3, time.Now())
	s.apply(4, []*clientv3.Event{{Type: clientv3.EventTypePut,
		Kv: &mvccpb.KeyValue{Key: []byte("/my-election/a"), Value: []byte("A at work"), Lease: 0xa, CreateRevision: 2, ModRevision: 4}}},
		time.Now(), nil)
	snap := s.snapshot("test", time.Now())
	require.Len(t, snap.Locks, 1)
	assert.True(t, snap.Locks[0].Election)
	assert.Equal(t, []string{"A at work", "B"}, []string{snap.Locks[0].Queue[0].Value, snap.Locks[0].Queue[1].Value})
	assert.True(t, snap.Locks[0].Queue[0].Holds, "the leader")
	assert.Empty(t, snap.Events, "a Proclaim is no queue event")
}
