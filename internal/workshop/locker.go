package workshop

import (
	"fmt"
	"sync"
)

// Lock takes an etcd Locker (concurrency.NewLocker). A sync.Locker has no
// error to return, so etcd's Lock panics on any error (etcd gone, Ctrl-C):
// recover that panic into an error a learner can read.
func Lock(locker sync.Locker) error { return recovered("lock", locker.Lock) }

// Unlock releases an etcd Locker, recovering its panic like Lock.
func Unlock(locker sync.Locker) error { return recovered("unlock", locker.Unlock) }

func recovered(what string, f func()) (err error) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case error:
			err = fmt.Errorf("etcd %s: %w", what, r) // errors.Is still sees etcd's error
		default:
			err = fmt.Errorf("etcd %s: %v", what, r)
		}
	}()
	f()
	return nil
}
