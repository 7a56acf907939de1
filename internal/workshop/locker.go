package workshop

import "fmt"

// CatchLockerPanic, deferred, turns a panic of etcd's Locker into *err.
// concurrency.NewLocker returns a sync.Locker, whose Lock and Unlock have no
// error to return: on any etcd error (etcd gone, Ctrl-C) they panic.
//
//	defer workshop.CatchLockerPanic(&err)
//	locker.Lock()
func CatchLockerPanic(err *error) {
	switch r := recover().(type) {
	case nil:
	case error:
		*err = fmt.Errorf("etcd lock: %w", r) // errors.Is still sees etcd's error
	default:
		*err = fmt.Errorf("etcd lock: %v", r)
	}
}
