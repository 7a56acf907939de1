package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// The shared count, behind each of the three fences.

// ErrRefused is a write that a fence turned away: its writer no longer holds the lock.
var ErrRefused = errors.New("refused")

var fenceKinds = []string{"none", "etcd", "token"}

// countFor is the shared count of the experiment named prefix, behind fence.
func countFor(e *workshop.Etcd, fence, prefix, storeURL string) record {
	if fence == "token" {
		return storeCount{storeURL}
	}
	return etcdCount{client: e.Client, key: countKey(prefix), fenced: fence == "etcd"}
}

func countKey(prefix string) string { return prefix + "/count" }

// record is the shared count, read and written by the holder of the lock.
type record interface {
	Read(ctx context.Context, m mutex) (int, error)
	Write(ctx context.Context, m mutex, count int) error
}

// etcdCount is a count kept in etcd. Unfenced, a write is the article's plain
// Put: etcd takes it from anyone. Fenced, it is one transaction that writes
// only if the writer's lock key is still the one it created.
type etcdCount struct {
	client *clientv3.Client
	key    string
	fenced bool
}

func (r etcdCount) Read(ctx context.Context, _ mutex) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := r.client.Get(ctx, r.key)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

func (r etcdCount) Write(ctx context.Context, m mutex, count int) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	put := clientv3.OpPut(r.key, strconv.Itoa(count))
	if !r.fenced {
		_, err := r.client.Do(ctx, put)
		return err
	}
	resp, err := r.client.Txn(ctx).If(m.IsOwner()).Then(put).Commit()
	if err == nil && !resp.Succeeded {
		return fmt.Errorf("%w by etcd: the lock key is gone", ErrRefused)
	}
	return err
}

// Store keeps a count outside etcd and knows nothing of leases. Its one
// defence is the fencing token: it remembers the highest it has seen and
// refuses any lower one (and no token at all), on reads too, so that no stale write can land
// between a newer holder's read and its write.
type Store struct {
	mu      sync.Mutex
	count   int
	highest int64
}

// Do checks token, then returns the count, after setting it when write is true.
func (s *Store) Do(token int64, write bool, count int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// No token (0) comes from a client that holds no lock: etcd's revisions,
	// and so the tokens, start at 1. As 07's storage does.
	if token < s.highest || token <= 0 {
		return 0, fmt.Errorf("%w by the store: token %d is lower than %d", ErrRefused, token, max(s.highest, 1))
	}
	s.highest = token
	if write {
		s.count = count
	}
	return s.count, nil
}

// Count is the count as it is, read by the referee (no token).
func (s *Store) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// ServeHTTP is the store's whole protocol: GET or PUT /count?token=T&count=N.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, err := strconv.ParseInt(r.FormValue("token"), 10, 64)
	if err != nil {
		http.Error(w, "bad token", http.StatusBadRequest)
		return
	}
	count, _ := strconv.Atoi(r.FormValue("count"))
	n, err := s.Do(token, r.Method == http.MethodPut, count)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	fmt.Fprint(w, n)
}

// serve runs s on a free loopback port, so that a client in another process
// reaches it as it would a real service.
func serve(s *Store) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// storeCount is the count in a Store, reached over HTTP with the holder's token.
type storeCount struct{ url string }

func (r storeCount) Read(ctx context.Context, m mutex) (int, error) {
	return r.do(ctx, http.MethodGet, m.Token(), 0)
}

func (r storeCount) Write(ctx context.Context, m mutex, count int) error {
	_, err := r.do(ctx, http.MethodPut, m.Token(), count)
	return err
}

func (r storeCount) do(ctx context.Context, method string, token int64, count int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("%s/count?token=%d&count=%d", r.url, token, count), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusOK:
		return strconv.Atoi(text)
	case http.StatusConflict:
		return 0, fmt.Errorf("%w: %s", ErrRefused, text)
	default:
		return 0, fmt.Errorf("store: %s: %s", resp.Status, text)
	}
}
