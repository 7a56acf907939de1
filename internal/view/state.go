package view

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// A lock's key, as etcd's Mutex and Election (and the workshop's lock) make
// it, is NAME/<its lease in hex>, on that lease: the queue of NAME is those
// keys in create-revision order, its holder (or leader) the first.

// state is what the page shows, built from etcd's keys and watch events.
type state struct {
	entries map[string]*entry   // lock keys
	queues  map[string][]*entry // lock name: its entries in create-revision order
	labels  map[clientv3.LeaseID]workshop.Label
	values  map[string]string        // other keys: counts, records
	ttls    map[clientv3.LeaseID]ttl // the leases on screen, sampled
	events  []Event                  // newest last, at most maxEvents
	members []Member
	rev     int64
}

type entry struct {
	key, lock string
	value     string // what an election's candidate proclaims; a Mutex's key has none
	lease     clientv3.LeaseID
	createRev int64
	since     time.Time // queued, or, once it holds, acquired
	holds     bool
}

type ttl struct {
	left, granted int64
	at            time.Time
}

const (
	maxEvents = 40
	shownPer  = 25 // entries of a queue the page shows; the rest are counted
	maxValue  = 80 // bytes of a value the page shows
)

func newState() *state {
	return &state{entries: map[string]*entry{}, queues: map[string][]*entry{}, labels: map[clientv3.LeaseID]workshop.Label{},
		values: map[string]string{}, ttls: map[clientv3.LeaseID]ttl{}}
}

// lockOf returns the lock a key queues on, if it is a lock's key.
func lockOf(kv *mvccpb.KeyValue) (string, bool) {
	dir, base := path.Split(string(kv.Key))
	if kv.Lease == 0 || dir == "" || dir == "/" {
		return "", false
	}
	lease, err := strconv.ParseInt(base, 16, 64)
	return strings.TrimSuffix(dir, "/"), err == nil && lease == kv.Lease
}

// load is etcd's keys at one revision, as the page starts.
func (s *state) load(kvs []*mvccpb.KeyValue, rev int64, now time.Time) {
	s.rev = rev
	for _, kv := range kvs {
		s.put(kv, now, false)
	}
	for _, lock := range s.lockNames() {
		if q := s.queue(lock); len(q) > 0 {
			q[0].holds = true
		}
	}
}

// apply is one revision's events (etcd never splits one across responses).
// ended reports whether a lease still exists, for a lock key deleted without
// a label to tell: it is asked only then.
func (s *state) apply(rev int64, evs []*clientv3.Event, now time.Time, ended func(clientv3.LeaseID) bool) {
	s.rev = rev
	labelGone := map[clientv3.LeaseID]bool{}
	for _, ev := range evs {
		if ev.Type == clientv3.EventTypeDelete && strings.HasPrefix(string(ev.Kv.Key), workshop.LabelPrefix) && ev.PrevKv != nil {
			labelGone[clientv3.LeaseID(ev.PrevKv.Lease)] = true
		}
	}
	touched := map[string]bool{}
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		if ev.Type == clientv3.EventTypePut {
			if e := s.put(ev.Kv, now, true); e != nil {
				touched[e.lock] = true
			}
			continue
		}
		e, ok := s.entries[key]
		if !ok {
			s.forget(ev)
			continue
		}
		s.remove(e)
		touched[e.lock] = true
		kind := Released
		_, labelled := s.labels[e.lease]
		if (labelled && labelGone[e.lease]) || (!labelled && ended(e.lease)) {
			kind = s.endedHow(e.lease, now)
		}
		if !e.holds {
			kind = map[string]string{Released: Left, Expired: ExpiredWaiting, Revoked: RevokedWaiting}[kind]
		}
		s.event(Event{Kind: kind, Lock: e.lock, Lease: leaseHex(e.lease), Rev: rev, Token: e.createRev}, s.labels[e.lease], now)
	}
	for lease := range labelGone {
		delete(s.labels, lease)
		delete(s.ttls, lease)
	}
	for _, lock := range slices.Sorted(maps.Keys(touched)) {
		if q := s.queue(lock); len(q) > 0 && !q[0].holds {
			q[0].holds, q[0].since = true, now
			s.event(Event{Kind: Acquired, Lock: lock, Lease: leaseHex(q[0].lease), Rev: rev, Token: q[0].createRev},
				s.labels[q[0].lease], now)
		}
	}
}

// put records a key; a new lock key is queued (and an event, if live).
func (s *state) put(kv *mvccpb.KeyValue, now time.Time, live bool) *entry {
	key := string(kv.Key)
	if strings.HasPrefix(key, workshop.LabelPrefix) {
		var l workshop.Label
		if json.Unmarshal(kv.Value, &l) == nil && kv.Lease != 0 {
			s.labels[clientv3.LeaseID(kv.Lease)] = l
		}
		return nil
	}
	lock, ok := lockOf(kv)
	if !ok {
		s.values[key] = clip(string(kv.Value))
		return nil
	}
	if e, ok := s.entries[key]; ok { // a put on a key already queued (Proclaim) keeps its place
		e.value = clip(string(kv.Value))
		return e
	}
	e := &entry{key: key, lock: lock, value: clip(string(kv.Value)), lease: clientv3.LeaseID(kv.Lease),
		createRev: kv.CreateRevision, since: now}
	s.entries[key] = e
	q := s.queues[lock]
	i, _ := slices.BinarySearchFunc(q, e.createRev, func(e *entry, rev int64) int { return cmp.Compare(e.createRev, rev) })
	s.queues[lock] = slices.Insert(q, i, e)
	if live && len(s.queue(lock)) > 1 {
		s.event(Event{Kind: Queued, Lock: lock, Lease: leaseHex(e.lease), Rev: kv.ModRevision, Token: e.createRev},
			s.labels[e.lease], now)
	}
	return e
}

func (s *state) forget(ev *clientv3.Event) {
	key := string(ev.Kv.Key)
	if strings.HasPrefix(key, workshop.LabelPrefix) {
		return // removed with its lease, after the lease's lock keys have used it
	}
	delete(s.values, key)
}

// endedHow tells an expiry from a revoke by the lease's TTL last seen: a
// lease that had a second or two left and went is one nobody kept alive.
func (s *state) endedHow(lease clientv3.LeaseID, now time.Time) string {
	t, ok := s.ttls[lease]
	if !ok {
		return Ended
	}
	if float64(t.left)-now.Sub(t.at).Seconds() <= 2 {
		return Expired
	}
	return Revoked
}

func (s *state) event(ev Event, l workshop.Label, now time.Time) {
	ev.At, ev.Label, ev.Program = now.UnixMilli(), l.Name, l.Program
	s.events = append(s.events, ev)
	if len(s.events) > maxEvents {
		s.events = s.events[len(s.events)-maxEvents:]
	}
}

// queue is a lock's entries in create-revision order.
func (s *state) queue(lock string) []*entry { return s.queues[lock] }

func (s *state) remove(e *entry) {
	delete(s.entries, e.key)
	q := s.queues[e.lock]
	if i := slices.Index(q, e); i >= 0 {
		q = slices.Delete(q, i, i+1)
	}
	if len(q) == 0 {
		delete(s.queues, e.lock)
		return
	}
	s.queues[e.lock] = q
}

func (s *state) lockNames() []string { return slices.Sorted(maps.Keys(s.queues)) }

// shownLeases are the leases whose TTL the page shows: few, however long the queues.
func (s *state) shownLeases() []clientv3.LeaseID {
	var leases []clientv3.LeaseID
	for _, lock := range s.lockNames() {
		q := s.queue(lock)
		for _, e := range q[:min(len(q), shownPer)] {
			leases = append(leases, e.lease)
		}
	}
	return leases
}

// Event is one thing that happened to a lock, as the page lists it.
type Event struct {
	At      int64  `json:"at"` // Unix milliseconds
	Kind    string `json:"kind"`
	Lock    string `json:"lock"`
	Label   string `json:"label"`
	Program string `json:"program"`
	Lease   string `json:"lease"`
	Rev     int64  `json:"rev"`   // the revision it happened at
	Token   int64  `json:"token"` // the key's create revision: its fencing token
}

// The kinds of Event.
const (
	Queued         = "queued"
	Acquired       = "acquired"
	Released       = "released"        // its key deleted, its lease alive: Unlock
	Left           = "left"            // a waiter's key deleted: it gave up
	Expired        = "expired"         // with its lease, which nobody kept alive
	Revoked        = "revoked"         // its lease revoked: the program ended
	Ended          = "ended"           // its lease gone, how unseen
	ExpiredWaiting = "expired-waiting" // a waiter's lease expired
	RevokedWaiting = "revoked-waiting"
)

// Member is one etcd member, for the failover chapter.
type Member struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	URL    string `json:"url"`
	Leader bool   `json:"leader"`
	Up     bool   `json:"up"`
}

// Snapshot is the page's whole content, sent on every change.
type Snapshot struct {
	Etcd    string   `json:"etcd"`
	CA      string   `json:"ca,omitempty"` // the SHA-256 of ca.pem, where the etcd uses TLS
	Rev     int64    `json:"rev"`
	Now     int64    `json:"now"`
	Locks   []Lock   `json:"locks"`
	Values  []Value  `json:"values"`
	Members []Member `json:"members"`
	Events  []Event  `json:"events"` // newest first
}

// Lock is one queue: its first entries, holder first, and how many in all.
// An election's keys hold the candidates' values, a Mutex's are empty: the
// page says "leads" and "candidate" for an election's.
type Lock struct {
	Name     string  `json:"name"`
	Election bool    `json:"election"`
	Total    int     `json:"total"`
	Queue    []Entry `json:"queue"`
}

// Entry is a holder or a waiter.
type Entry struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Label   string `json:"label"`
	Program string `json:"program"`
	Lease   string `json:"lease"`
	Token   int64  `json:"token"`
	Holds   bool   `json:"holds"`
	Since   int64  `json:"since"`   // Unix milliseconds: queued, or acquired
	TTL     int64  `json:"ttl"`     // seconds left at Sampled; -1 unknown
	Granted int64  `json:"granted"` // the lease's TTL when granted
	Sampled int64  `json:"sampled"`
}

// Value is a key that is not a lock's: a count, a record.
type Value struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (s *state) snapshot(etcd string, now time.Time) Snapshot {
	snap := Snapshot{Etcd: etcd, Rev: s.rev, Now: now.UnixMilli(), Members: s.members,
		Locks: []Lock{}, Values: []Value{}, Events: []Event{}}
	for _, name := range s.lockNames() {
		q := s.queue(name)
		l := Lock{Name: name, Total: len(q)}
		for _, e := range q[:min(len(q), shownPer)] {
			label := s.labels[e.lease]
			t, ok := s.ttls[e.lease]
			if !ok {
				t.left = -1
			}
			l.Election = l.Election || e.value != ""
			l.Queue = append(l.Queue, Entry{Key: e.key, Value: e.value, Label: label.Name, Program: label.Program,
				Lease: leaseHex(e.lease), Token: e.createRev, Holds: e.holds, Since: e.since.UnixMilli(),
				TTL: t.left, Granted: t.granted, Sampled: t.at.UnixMilli()})
		}
		snap.Locks = append(snap.Locks, l)
	}
	for _, k := range slices.Sorted(maps.Keys(s.values)) {
		snap.Values = append(snap.Values, Value{k, s.values[k]})
	}
	for i := len(s.events) - 1; i >= 0; i-- {
		snap.Events = append(snap.Events, s.events[i])
	}
	return snap
}

// clip cuts a value to what the page shows.
func clip(v string) string {
	if len(v) > maxValue {
		return strings.ToValidUTF8(v[:maxValue], "") + "…"
	}
	return v
}

func leaseHex(l clientv3.LeaseID) string { return fmt.Sprintf("%x", int64(l)) }
