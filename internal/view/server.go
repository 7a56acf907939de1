// Package view is the room's live view of etcd's locks, for the projector:
// every lock's queue in create-revision order (holder first) with each
// entry's label and lease, the lease's TTL as it is kept alive, events as
// they happen (acquired, released by Unlock, expired with its lease), the
// other keys (the counts), and the members. It is pushed from one etcd watch
// to the browser by a websocket; the page (page.html) needs nothing
// from the network but this server.
package view

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watched is the part of etcd the view shows: every key under "/", which is
// where the workshop's keys are. Its user must be allowed to read them all.
const Watched = "/"

const (
	ttlEvery     = 500 * time.Millisecond // how often the TTLs on screen are sampled
	membersEvery = 2 * time.Second
	pushAtMost   = 20 * time.Millisecond // a burst of events is one push
)

// Server serves the page and its live updates for one etcd.
type Server struct {
	cli     *clientv3.Client
	name    string // the etcd, as the page names it
	timeout time.Duration
	ca      []byte // offered as /ca.pem

	mu      sync.Mutex
	st      *state
	subs    map[chan struct{}]struct{}
	changed chan struct{}
}

// New returns a Server of the etcd cli talks to, named name on the page;
// every request it makes is bounded by timeout. Run makes it live.
func New(cli *clientv3.Client, name string, timeout time.Duration) *Server {
	return &Server{cli: cli, name: name, timeout: timeout, st: newState(),
		subs: map[chan struct{}]struct{}{}, changed: make(chan struct{}, 1)}
}

// Load reads etcd's keys once, so that the page has something to show and a
// refused user is one error before anything is served.
func (s *Server) Load(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(rctx, Watched, clientv3.WithPrefix())
	if errors.Is(err, rpctypes.ErrPermissionDenied) || errors.Is(err, rpctypes.ErrGRPCPermissionDenied) {
		return fmt.Errorf("the view reads every key under %q, and this user may not: use root's, or an etcd without authentication", Watched)
	}
	if err != nil {
		return fmt.Errorf("read etcd's keys: %w", err)
	}
	s.mu.Lock()
	s.st.load(resp.Kvs, resp.Header.Revision, time.Now())
	s.mu.Unlock()
	return nil
}

// Run follows etcd until ctx ends: the watch, the TTLs on screen, the members.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { s.every(ctx, ttlEvery, s.sampleTTLs) })
	wg.Go(func() { s.every(ctx, membersEvery, s.sampleMembers) })
	wg.Go(func() { s.pushLoop(ctx) })
	return s.watch(ctx)
}

func (s *Server) watch(ctx context.Context) error {
	s.mu.Lock()
	from := s.st.rev + 1
	s.mu.Unlock()
	for ctx.Err() == nil {
		// RequireLeader: a watch on a member cut off from the others would
		// otherwise wait in silence, and the page would show a frozen room.
		wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), Watched, clientv3.WithPrefix(),
			clientv3.WithRev(from), clientv3.WithPrevKV())
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if errors.Is(err, rpctypes.ErrCompacted) {
					return fmt.Errorf("watch: %w (the view fell behind etcd's history)", err)
				}
				break // no leader, for now: watch again
			}
			s.apply(ctx, resp.Events)
			from = resp.Header.Revision + 1
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// apply takes one response's events revision by revision.
func (s *Server) apply(ctx context.Context, evs []*clientv3.Event) {
	for len(evs) > 0 {
		rev, n := evs[0].Kv.ModRevision, 1
		for n < len(evs) && evs[n].Kv.ModRevision == rev {
			n++
		}
		s.mu.Lock()
		s.st.apply(rev, evs[:n], time.Now(), func(lease clientv3.LeaseID) bool { return s.leaseEnded(ctx, lease) })
		s.mu.Unlock()
		evs = evs[n:]
	}
	s.notify()
}

// leaseEnded asks etcd whether a lease is gone (a lock key without a label
// was deleted: by Unlock, or with its lease?). Unsure is "not ended".
func (s *Server) leaseEnded(ctx context.Context, lease clientv3.LeaseID) bool {
	rctx, cancel := context.WithTimeout(ctx, min(s.timeout, time.Second))
	defer cancel()
	resp, err := s.cli.TimeToLive(rctx, lease)
	return err == nil && resp.TTL == -1
}

func (s *Server) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleTTLs asks etcd the TTL left of every lease on screen, at once.
func (s *Server) sampleTTLs(ctx context.Context) {
	s.mu.Lock()
	leases := s.st.shownLeases()
	s.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	got := make([]ttl, len(leases))
	var wg sync.WaitGroup
	for i, lease := range leases {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, min(s.timeout, time.Second))
			defer cancel()
			if resp, err := s.cli.TimeToLive(rctx, lease); err == nil && resp.TTL >= 0 {
				got[i] = ttl{left: resp.TTL, granted: resp.GrantedTTL, at: time.Now()}
			}
		})
	}
	wg.Wait()
	s.mu.Lock()
	for i, lease := range leases {
		if !got[i].at.IsZero() {
			s.st.ttls[lease] = got[i]
		}
	}
	s.mu.Unlock()
	s.notify()
}

// sampleMembers lists the members and asks each which is leader.
func (s *Server) sampleMembers(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, min(s.timeout, time.Second))
	defer cancel()
	list, err := s.cli.MemberList(rctx)
	if err != nil {
		return
	}
	members := make([]Member, len(list.Members))
	var leader uint64
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, m := range list.Members {
		members[i] = Member{Name: m.Name, ID: fmt.Sprintf("%x", m.ID)}
		if len(m.ClientURLs) == 0 {
			continue
		}
		members[i].URL = m.ClientURLs[0]
		if len(list.Members) == 1 && strings.HasSuffix(members[i].URL, ":0") {
			// An embedded etcd advertises the port it asked for, 0, not the one it got.
			members[i].URL = s.cli.Endpoints()[0]
		}
		wg.Go(func() {
			if st, err := s.cli.Status(rctx, members[i].URL); err == nil {
				mu.Lock()
				members[i].Up, leader = true, max(leader, st.Leader)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i, m := range list.Members {
		members[i].Leader = m.ID == leader && members[i].Up
	}
	s.mu.Lock()
	s.st.members = members
	s.mu.Unlock()
	s.notify()
}

func (s *Server) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// pushLoop tells every page, at most every pushAtMost, that there is news.
func (s *Server) pushLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.changed:
		}
		s.mu.Lock()
		for sub := range s.subs {
			select {
			case sub <- struct{}{}:
			default: // that page has news waiting already
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(pushAtMost):
		}
	}
}

// Snapshot is what the page shows now.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.st.snapshot(s.name, time.Now())
	if s.ca != nil {
		sum := sha256.Sum256(s.ca)
		snap.CA = hex.EncodeToString(sum[:])
	}
	return snap
}

// ServeHTTP serves the page at /, its updates at /live, and the state as
// JSON at /state.json.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		s.page(w, r)
	case "/live":
		s.live(w, r)
	case "/ca.pem":
		if s.ca == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Disposition", `attachment; filename="ca.pem"`)
		w.Write(s.ca)
	case "/state.json":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Snapshot())
	default:
		http.NotFound(w, r)
	}
}

//go:embed page.html
var page string

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	// The state the page starts from is in the page (json.Marshal escapes
	// <, > and &, so no label can close the script), and drawn at once.
	state, err := json.Marshal(s.Snapshot())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	fmt.Fprint(w, strings.Replace(page, "{{STATE}}", string(state), 1))
}

// upgrader takes the page's own websocket only: a page of another site in a
// learner's browser may not read the room (CheckOrigin's default).
var upgrader = websocket.Upgrader{}

// live pushes the state to one page on every change. A websocket, not
// server-sent events: a headless browser that dumps a page waits for every
// fetch in flight, and a stream of events is one that never ends.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	defer conn.Close()
	closed := make(chan struct{})
	go func() { // the page says nothing; a read fails when it goes
		defer close(closed)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	news := make(chan struct{}, 1)
	news <- struct{}{}
	s.mu.Lock()
	s.subs[news] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, news)
		s.mu.Unlock()
	}()
	for {
		select {
		case <-closed:
			return
		case <-r.Context().Done():
			return
		case <-news:
		}
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second)) // a page that reads nothing is dropped
		if err := conn.WriteJSON(s.Snapshot()); err != nil {
			return
		}
	}
}
