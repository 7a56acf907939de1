package workshop

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// CountRounds is the program of chapters 01 and 02: it runs a counting
// experiment (count: goroutines each Incr once, the result) many times, like
// the article's repeated runs, and prints every count, ten to a line, and a
// summary. Flags: -rounds and -goroutines.
func CountRounds(ctx context.Context, name string, args []string, stdout, stderr io.Writer, count func(goroutines int) int) error {
	fs := NewFlagSet(name, stderr)
	rounds := fs.Int("rounds", 50, "how many times to run the experiment")
	goroutines := fs.Int("goroutines", 1000, "goroutines per round, one Incr each")
	if err := Parse(fs, args); err != nil {
		return err
	}
	return countRounds(ctx, stdout, *rounds, *goroutines, count)
}

func countRounds(ctx context.Context, stdout io.Writer, rounds, goroutines int, count func(goroutines int) int) error {
	lostRounds, lowest := 0, goroutines
	var line strings.Builder
	for i := 1; i <= rounds; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := count(goroutines)
		if n < goroutines {
			lostRounds++
		}
		lowest = min(lowest, n)
		fmt.Fprintf(&line, " %5d", n)
		if i%10 == 0 || i == rounds {
			fmt.Fprintf(stdout, "%-13s%s\n", fmt.Sprintf("rounds %d-%d:", (i-1)/10*10+1, i), line.String())
			line.Reset()
		}
	}
	if lostRounds == 0 {
		fmt.Fprintf(stdout, "count: %d in every one of %d rounds: no update lost\n", goroutines, rounds)
		return nil
	}
	fmt.Fprintf(stdout, "lost updates in %d of %d rounds (lowest count: %d of %d)\n", lostRounds, rounds, lowest, goroutines)
	return nil
}

// AllAtOnce runs f in n goroutines released together, and returns when all
// are done. Counter.Incr is a single instruction: started one by one,
// goroutines rarely run it at the same instant on two CPUs, and the article's
// racy program often prints 1000. Goroutines that wait at a starting line by
// yielding (not sleeping) keep every CPU busy, so once released they collide
// on most rounds.
func AllAtOnce(n int, f func()) {
	var done sync.WaitGroup
	var started atomic.Bool
	for i := 0; i < n; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			for !started.Load() {
				runtime.Gosched()
			}
			f()
		}()
	}
	for i := 0; i < 10; i++ {
		runtime.Gosched() // let the goroutines gather at the start
	}
	started.Store(true)
	done.Wait()
}

var roundsLine = regexp.MustCompile(`(?m)^rounds \d+-\d+:((?:[ \t]+\d+)+)$`)

// RoundCounts reads back every count that CountRounds printed.
func RoundCounts(out string) []int {
	var counts []int
	for _, m := range roundsLine.FindAllStringSubmatch(out, -1) {
		for _, f := range strings.Fields(m[1]) {
			n, _ := strconv.Atoi(f)
			counts = append(counts, n)
		}
	}
	return counts
}
