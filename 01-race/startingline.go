// Not the lesson: what makes the article's loss show on every run.
package main

import (
	"runtime"
	"sync/atomic"
)

// startingLine holds each goroutine of a round until all of them have been
// started, then lets them all go at once.
//
// Why: m.count++ is a read, an add and a write (on amd64 one instruction,
// but not an atomic one: no LOCK prefix), and a goroutine runs it within a
// microsecond of being started. Started one by one, the goroutines run it at
// the same instant on two CPUs only now and then, and the article's program
// often prints 1000: the race is there, but hidden. Lined up, a thousand
// goroutines go through Incr at once on every CPU, and more rounds lose some.
//
// The goroutines wait by yielding (runtime.Gosched), not by parking on a
// channel: waiting runnable, they keep every CPU busy for the moment they go.
// And an atomic counter orders nothing between one Incr and another, so the
// race detector still sees the race.
type startingLine struct {
	goroutines int64
	arrived    atomic.Int64
}

func newStartingLine(goroutines int) *startingLine {
	return &startingLine{goroutines: int64(goroutines)}
}

// wait returns once every goroutine of the round has called it.
func (s *startingLine) wait() {
	s.arrived.Add(1)
	for s.arrived.Load() < s.goroutines {
		runtime.Gosched()
	}
}
