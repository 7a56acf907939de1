// Chapter 02, the article's section 2、本地锁 (a lock inside one process), its
// second program: chapter 01's counter with a sync.Mutex held around the
// increment, and the count is 1000 every time.
//
// This file is the article's program. Not the lesson, in files of their own:
// startingline.go (the one line the article does not have), rounds.go (the
// program run 50 times, its counts ten to a line). The command line is
// internal/cli's, as in every chapter; like this chapter, it uses no etcd.
package main

import (
	"context"
	"etcd-lock-workshop/internal/cli"
	"fmt"
	"io"
	"sync"
)

type Counter struct {
	count int
	mu    sync.Mutex
}

// 每次写之前先加锁,写完之后释放锁 (lock before each write, unlock after it):
// one goroutine at a time reads, adds one and writes, so no increment is lost.
func (m *Counter) Incr() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count++
}

// 获取总数 (the total): read after sg.Wait(), when every Incr is done.
func (m *Counter) Count() int {
	return m.count
}

// article is the article's main: goroutines (1000) goroutines each call Incr
// once, then it prints the count, into the table of rounds (rounds.go).
func article(stdout io.Writer, goroutines int, start *startingLine) {
	var sg sync.WaitGroup
	c := &Counter{}
	for i := 0; i < goroutines; i++ {
		sg.Add(1)
		// 模拟并发请求 (simulate concurrent requests)
		go func() {
			start.wait() // not in the article: all start together, so they collide on every run
			c.Incr()
			sg.Done()
		}()
	}
	sg.Wait()

	fmt.Fprintln(stdout, c.Count())
}

func main() {
	cli.Main(run)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("02-mutex", stderr)
	rounds := cli.Int(fs, "rounds", 50, 1, 10000, "how many times to run the article's program")
	goroutines := cli.Int(fs, "goroutines", 1000, 1, 100000, "goroutines per round, each calls Incr once")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	return printRounds(ctx, stdout, *rounds, *goroutines)
}
