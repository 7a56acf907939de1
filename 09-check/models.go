package main

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// The two models a history is checked against: what a lock and a count would
// do if every call took effect at one instant, one at a time. A history is
// linearizable when each of its calls can be given such an instant, inside
// the time between its call and its return, in an order the model accepts.

// Outcomes of a call, as its client saw them.
const (
	ok      = "ok"
	failed  = "failed"   // it did not happen: a Lock that gave up, a read that got no answer
	refused = "refused"  // a fence turned the write away: it did not happen
	lost    = "lost"     // Unlock found the lock no longer ours: the lease had expired
	unknown = "unknown"  // no answer (timeout, crash): it may or may not have happened, now or later
	byLease = "by lease" // a killed holder's release: when its lease expires, some time after its death
)

// lockCall is a call on the lock: acquire or release.
type lockCall struct {
	Client  int
	Acquire bool
	Token   int64 // acquire: the lock's revision, the fencing token
}

// free is the lock's state when nobody holds it; otherwise it is the holder's client number.
const free = -1

// lockModel is a mutex. Acquire succeeds only when the lock is free; release
// only by the holder. A Lock that failed took nothing. A release that comes
// too late (the lease had expired, Unlock says "lost") still needs the lock
// to have been held until then: the client believed it was.
var lockModel = porcupine.Model{
	Init: func() any { return free },
	Step: func(state, input, output any) (bool, any) {
		holder, call, outcome := state.(int), input.(lockCall), output.(string)
		switch {
		case call.Acquire && outcome != ok:
			return true, holder // it never held the lock
		case call.Acquire:
			return holder == free, call.Client
		default:
			return holder == call.Client, free
		}
	},
	DescribeOperation: func(input, output any) string {
		call, outcome := input.(lockCall), output.(string)
		if call.Acquire && outcome == ok {
			return fmt.Sprintf("acquire (token %d)", call.Token)
		}
		if call.Acquire {
			return "acquire: " + outcome
		}
		return "release: " + outcome
	},
	DescribeState: func(state any) string {
		if state.(int) == free {
			return "free"
		}
		return fmt.Sprintf("held by client %d", state.(int))
	},
}

// section is one critical section's work on the shared count, as one call:
// read it, then write it back plus one. A lock promises that sections run
// one at a time, as if each were a single step.
type section struct {
	Client int
	Token  int64
	Wrote  int // the count written; 0 when nothing was written
}

// sectionResult is what the section saw: the count it read (-1 if the read
// failed) and what became of its write.
type sectionResult struct {
	Read  int
	Write string // ok, refused, unknown, failed; "" when nothing was written
}

// countModel is the shared count. Every section must read the count that the
// last accepted write left, so no acknowledged write is ever lost. A write
// refused by a fence changes nothing; a write of unknown outcome may have
// landed or not: both are tried.
var countModel = porcupine.NondeterministicModel{
	Init: func() []any { return []any{0} },
	Step: func(state, input, output any) []any {
		count, s, r := state.(int), input.(section), output.(sectionResult)
		if r.Read < 0 {
			return []any{count} // no read, no write: it did nothing
		}
		if r.Read != count {
			return nil
		}
		switch r.Write {
		case ok:
			return []any{s.Wrote}
		case unknown:
			return []any{count, s.Wrote}
		default:
			return []any{count}
		}
	},
	DescribeOperation: func(input, output any) string {
		s, r := input.(section), output.(sectionResult)
		switch {
		case r.Read < 0:
			return "read: failed"
		case r.Write == "":
			return fmt.Sprintf("read %d", r.Read)
		default:
			return fmt.Sprintf("read %d, write %d: %s", r.Read, s.Wrote, r.Write)
		}
	},
	DescribeState: func(state any) string { return fmt.Sprintf("count=%d", state.(int)) },
}
