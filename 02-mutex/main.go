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
	fs := workshop.NewFlagSet("02-mutex", stderr)
	rounds := fs.Int("rounds", 50, "how many times to run the experiment")
	goroutines := fs.Int("goroutines", 1000, "goroutines per round, one Incr each")
	if err := workshop.Parse(fs, args); err != nil {
		return err
	}
	return workshop.CountRounds(ctx, stdout, *rounds, *goroutines, countOnce)
}
