// Package fence is a service outside etcd (a database, a file store) that
// keeps one count and knows nothing of leases. Its one defence is the fencing
// token: the lock key's revision, which only grows from one holder to the next.
// 07-fencing and 09-check both write through it.
package fence

import (
	"errors"
	"fmt"
	"sync"
)

// ErrRefused is a write that a fence turned away: its writer no longer holds the lock.
var ErrRefused = errors.New("refused")

// Storage keeps the count and the highest token it has seen.
type Storage struct {
	mu      sync.Mutex
	count   int
	highest int64
}

// Do checks token, then returns the count, after setting it when write is true.
func (s *Storage) Do(token int64, write bool, count int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A token lower than one already seen comes from a holder that has lost
	// the lock since: refused, on reads too, so that no late write lands
	// between a newer holder's read and its write. No token (0) comes from no
	// holder at all: refused as well (etcd's revisions start at 1).
	if token < s.highest || token <= 0 {
		return 0, fmt.Errorf("%w by the storage: token %d is lower than %d",
			ErrRefused, token, max(s.highest, 1))
	}
	s.highest = token
	if write {
		s.count = count
	}
	return s.count, nil
}

// Count is the count as it is, for the referee: no token, no check.
func (s *Storage) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}
