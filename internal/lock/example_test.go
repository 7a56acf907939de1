package lock_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/testmain"
	"etcd-lock-workshop/internal/workshop"
)

// examplesEtcd is the etcd the examples share, started by the first one
// that runs: not before m.Run, which (with go test -json) swaps os.Stderr as
// etcd's goroutines start reading it, a data race.
var examplesEtcd struct {
	once sync.Once
	etcd *workshop.Embedded
}

// endpoints are the examples' etcd's.
func endpoints() []string {
	examplesEtcd.once.Do(func() {
		e, err := workshop.StartEmbedded(context.Background(), workshop.EmbeddedOptions{})
		if err != nil {
			log.Fatal(err)
		}
		examplesEtcd.etcd = e
	})
	return []string{examplesEtcd.etcd.URL}
}

func TestMain(m *testing.M) {
	testmain.Parallel()
	workshop.Fsync = false // see workshop.Fsync
	code := m.Run()
	if examplesEtcd.etcd != nil {
		examplesEtcd.etcd.Close()
	}
	testmain.Exit(code)
}

func ExampleMutex_Lock() {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Two sessions, as two processes would have.
	s1, err := concurrency.NewSession(cli)
	if err != nil {
		log.Fatal(err)
	}
	defer s1.Close()
	m1 := lock.NewMutex(s1, "/my-lock")

	s2, err := concurrency.NewSession(cli)
	if err != nil {
		log.Fatal(err)
	}
	defer s2.Close()
	m2 := lock.NewMutex(s2, "/my-lock")

	if err := m1.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("acquired lock for s1")

	if err := m2.TryLock(ctx); errors.Is(err, concurrency.ErrLocked) {
		fmt.Println("cannot acquire lock for s2, as already locked in another session")
	}

	m2Locked := make(chan struct{})
	go func() {
		defer close(m2Locked)
		// Waits until s1 releases the lock.
		if err := m2.Lock(ctx); err != nil {
			log.Fatal(err)
		}
	}()

	if err := m1.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("released lock for s1")

	<-m2Locked
	fmt.Println("acquired lock for s2")
	if err := m2.Unlock(ctx); err != nil {
		log.Fatal(err)
	}

	// Output:
	// acquired lock for s1
	// cannot acquire lock for s2, as already locked in another session
	// released lock for s1
	// acquired lock for s2
}

func ExampleMutex_IsOwner() {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := concurrency.NewSession(cli)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	m := lock.NewMutex(s, "/config-lock")

	// A write fenced by the lock: it goes through only while m holds the lock.
	write := func(value string) bool {
		resp, err := cli.Txn(ctx).If(m.IsOwner()).Then(clientv3.OpPut("/config", value)).Commit()
		if err != nil {
			log.Fatal(err)
		}
		return resp.Succeeded
	}

	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("written while holding the lock:", write("v1"))
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("written after Unlock:", write("v2"))

	// Output:
	// written while holding the lock: true
	// written after Unlock: false
}
