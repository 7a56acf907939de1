package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Storage is a service outside etcd (a database, a file store) that keeps act
// 3's record. It knows nothing of leases. Its one defence is the fencing token.
type Storage struct {
	mu      sync.Mutex
	count   int
	highest int64 // the highest token seen so far
}

// Do checks token, then returns the count, after setting it when write is true.
func (s *Storage) Do(token int64, write bool, count int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The fence. A token lower than one already seen comes from a holder that
	// has lost the lock since: refused, on reads too, so that no late write
	// lands between a newer holder's read and its write. No token (0) comes
	// from no holder at all: refused as well (etcd's revisions start at 1).
	if token < s.highest || token <= 0 {
		return 0, fmt.Errorf("%w by the storage: token %d is lower than %d", ErrRefused, token, max(s.highest, 1))
	}
	s.highest = token
	if write {
		s.count = count
	}
	return s.count, nil
}

// Count is the record as it is, for the referee: no token, no check.
func (s *Storage) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// ServeHTTP is the storage's whole protocol: GET or PUT /count?token=T&count=N.
func (s *Storage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, err := strconv.ParseInt(r.FormValue("token"), 10, 64)
	if err != nil {
		http.Error(w, "bad token", http.StatusBadRequest)
		return
	}
	count, _ := strconv.Atoi(r.FormValue("count"))
	n, err := s.Do(token, r.Method == http.MethodPut, count)
	if err != nil {
		http.Error(w, strings.TrimPrefix(err.Error(), ErrRefused.Error()+" "), http.StatusConflict)
		return
	}
	fmt.Fprint(w, n)
}

// serve runs s on a free loopback port, so that client A, in its own
// process, reaches it as it would a real service.
func serve(s *Storage) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// StorageClient is how a holder talks to the storage: every request carries its token.
type StorageClient struct{ URL string }

func (c *StorageClient) Read(ctx context.Context, token int64) (int, error) {
	return c.do(ctx, http.MethodGet, token, 0)
}

func (c *StorageClient) Write(ctx context.Context, token int64, count int) error {
	_, err := c.do(ctx, http.MethodPut, token, count)
	return err
}

func (c *StorageClient) do(ctx context.Context, method string, token int64, count int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("%s/count?token=%d&count=%d", c.URL, token, count), nil)
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
		return 0, fmt.Errorf("%w %s", ErrRefused, text)
	default:
		return 0, fmt.Errorf("storage: %s: %s", resp.Status, text)
	}
}
