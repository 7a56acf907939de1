// Chapter 01, the article's starting point: 1000 goroutines increment a counter
// that has no lock, and increments get lost.
package main

import (
	"context"
	"io"

	"etcd-lock-workshop/internal/workshop"
)

// Counter is the article's counter, with no lock at all.
type Counter struct {
	count int
}

// Incr reads, adds and writes: two goroutines on two CPUs can read the same
// value and both write value+1, and one increment is lost.
func (m *Counter) Incr() {
	m.count++
}

func (m *Counter) Count() int {
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
	return workshop.CountRounds(ctx, "01-race", args, stdout, stderr, countOnce)
}
