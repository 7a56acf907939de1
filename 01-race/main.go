// Chapter 01, the article's section 2、本地锁 (a lock inside one process), its
// first program: 1000 goroutines each increment a Counter that has no lock,
// and the count comes out below 1000.
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
}

// 自增操作 (increment): read, add one, write. Two goroutines on two CPUs can
// read the same value and both write value+1: one increment is lost.
func (m *Counter) Incr() {
	m.count++
}

// 获取总数 (the total)
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
	fs := cli.NewFlagSet("01-race", stderr)
	rounds := cli.Int(fs, "rounds", 50, 1, 10000, "how many times to run the article's program")
	goroutines := cli.Int(fs, "goroutines", 1000, 1, 100000, "goroutines per round, each calls Incr once")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	return printRounds(ctx, stdout, *rounds, *goroutines)
}
