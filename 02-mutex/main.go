// Chapter 02: the article's fix inside one process. The same counter with a
// sync.Mutex counts 1000 every time.
package main

import (
	"context"
	"io"
	"sync"

	"etcd-lock-workshop/internal/workshop"
)

// Counter is chapter 01's counter with a mutex around the increment.
type Counter struct {
	mu    sync.Mutex
	count int
}

// Incr holds the mutex for its read-add-write, so no increment is lost.
func (m *Counter) Incr() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count++
}

func (m *Counter) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count
}

// countOnce is the article's main: 1000 goroutines, one Incr each.
func countOnce(goroutines int) int {
	var counter Counter
	workshop.AllAtOnce(goroutines, counter.Incr)
	return counter.Count()
}

func main() { workshop.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return workshop.CountRounds(ctx, "02-mutex", args, stdout, stderr, countOnce)
}
