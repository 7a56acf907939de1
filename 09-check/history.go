package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// A history is every call every client made, with the time it began and
// the time it returned, as Jepsen records one (and etcd's own robustness
// tests, with porcupine). Clients report events; the history pairs them
// into calls.

// event is one step of one client, as the client saw it: a call begins, or returns.
type event struct {
	Client  int    `json:"client"`
	Op      string `json:"op"` // see the constants below
	Return  bool   `json:"return,omitempty"`
	At      int64  `json:"at"`              // Unix nanoseconds: one clock for every process on this machine
	Value   int    `json:"value,omitempty"` // read: the count read; write: the count written
	Token   int64  `json:"token,omitempty"` // acquire's return: the lock's revision
	Outcome string `json:"outcome,omitempty"`
	Lease   int64  `json:"lease,omitempty"` // session: the new session's lease
}

const (
	opAcquire = "acquire"
	opRead    = "read"
	opWrite   = "write"
	opRelease = "release"
	opSession = "session" // a new session (its lease), not a call
	opStall   = "stall"   // the victim has read and waits to be stopped, not a call
)

// never is the return time of a call whose outcome is unknown: porcupine's
// convention (and etcd's robustness tests'), so that it may take effect at any
// time after it began.
const never = math.MaxInt64

// note is something the nemesis did, from one time to another.
type note struct {
	What     string
	From, To int64  // nanoseconds since the start; To == From for an instant
	Client   int    // the client it was done to, or -1
	Mark     string // what it did to the client, in the timeline: "stopped", "cut off"
}

type history struct {
	start time.Time

	mu      sync.Mutex
	events  []event
	notes   []note
	ended   map[int]int64 // clients killed, and when
	changed chan struct{} // closed and replaced on every event
}

func newHistory() *history {
	return &history{start: time.Now(), ended: map[int]int64{}, changed: make(chan struct{})}
}

// since is t in nanoseconds since the history began.
func (h *history) since(t time.Time) int64 { return t.Sub(h.start).Nanoseconds() }

func (h *history) add(e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
	close(h.changed)
	h.changed = make(chan struct{})
}

// note records what the nemesis did (to client, unless -1: mark, in a word);
// end it with the returned function (for an instant, call it at once).
func (h *history) note(client int, mark, what string) (end func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := h.since(time.Now())
	h.notes = append(h.notes, note{What: what, From: at, To: at, Client: client, Mark: mark})
	i := len(h.notes) - 1
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.notes[i].To = h.since(time.Now())
	}
}

// killed records that a client died at t: its calls under way have unknown
// outcomes, and a lock it held is freed by its lease, at some time after t.
func (h *history) killed(client int, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended[client] = h.since(t)
}

// wait returns once cond holds for the events so far, or fails after bound.
func (h *history) wait(ctx context.Context, bound time.Duration, what string, cond func([]event) bool) error {
	deadline := time.After(bound)
	for {
		h.mu.Lock()
		done, changed := cond(h.events), h.changed
		h.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("waited %s for %s", bound, what)
		}
	}
}

// snapshot returns the events and notes so far.
func (h *history) snapshot() ([]event, []note, map[int]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ended := map[int]int64{}
	for c, t := range h.ended {
		ended[c] = t
	}
	return slices.Clone(h.events), slices.Clone(h.notes), ended
}

// call is one call of the history, paired from its events.
type call struct {
	client       int
	op           string
	begin, end   int64 // nanoseconds since the start; end is never when unknown
	outcome      string
	token        int64
	read, wrote  int    // a section's count read (-1: no read) and written (0: no write)
	writeOutcome string // a section's write: "" when it wrote nothing
}

// calls pairs the events of each client into calls, in the order they began:
// acquires, releases, and sections (a read and the write after it). A client
// that was killed has its calls under way end "never", with unknown outcomes.
func (h *history) calls() []call {
	events, _, ended := h.snapshot()
	byClient := map[int][]event{}
	for _, e := range events {
		byClient[e.Client] = append(byClient[e.Client], e)
	}
	var all []call
	for client, evs := range byClient {
		all = append(all, pair(client, evs, h.start.UnixNano(), ended)...)
	}
	slices.SortStableFunc(all, func(a, b call) int {
		if a.begin != b.begin {
			return compare(a.begin, b.begin)
		}
		return compare(a.client, b.client)
	})
	return all
}

func compare[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func pair(client int, evs []event, start int64, ended map[int]int64) []call {
	var calls []call
	var open *call // the call under way: its return has not come yet
	var sec *call  // the section under way: read, maybe a write
	holding, token := false, int64(0)
	closeSection := func(at int64) {
		if sec != nil {
			if sec.end == 0 {
				sec.end = at
			}
			calls = append(calls, *sec)
			sec = nil
		}
	}
	for _, e := range evs {
		at := e.At - start
		switch {
		case e.Op == opSession || e.Op == opStall:
		case e.Op == opRead && !e.Return:
			closeSection(at)
			sec = &call{client: client, op: opRead, begin: at, read: -1, token: token}
		case e.Op == opRead:
			if sec != nil {
				sec.end = at // unless a write follows
				if e.Outcome == ok {
					sec.read = e.Value
				}
			}
		case e.Op == opWrite && !e.Return:
			if sec != nil {
				sec.wrote, sec.writeOutcome, sec.end = e.Value, unknown, 0
			}
		case e.Op == opWrite:
			if sec != nil {
				sec.writeOutcome, sec.end = e.Outcome, at
				if e.Outcome != ok && e.Outcome != refused {
					sec.writeOutcome, sec.end = unknown, never // it may land later
				}
				closeSection(at)
			}
		case !e.Return: // acquire or release begins
			closeSection(at)
			open = &call{client: client, op: e.Op, begin: at}
		case open != nil: // acquire or release returns
			open.end, open.outcome, open.token = at, e.Outcome, e.Token
			if e.Op == opRelease && e.Outcome != ok && e.Outcome != lost {
				open.outcome, open.end = unknown, never // released now, or by its lease later
			}
			if holding = e.Op == opAcquire && e.Outcome == ok; holding {
				token = e.Token
			}
			calls = append(calls, *open)
			open = nil
		}
	}
	// The client is gone: killed, or done. What it left under way has no
	// answer; a lock it held is freed by its lease, some time after.
	end, wasKilled := ended[client]
	if !wasKilled && len(evs) > 0 {
		end = evs[len(evs)-1].At - start
	}
	if sec != nil && sec.writeOutcome == unknown {
		sec.end = never
	}
	closeSection(end)
	if open != nil {
		open.end, open.outcome = never, unknown
		calls = append(calls, *open)
		holding = holding && open.op != opRelease
	}
	if holding {
		calls = append(calls, call{client: client, op: opRelease, begin: end, end: never, outcome: byLease})
	}
	return calls
}

// operations are the calls as porcupine takes them: the lock's history
// (acquires and releases) and the count's (sections).
func operations(calls []call) (lockOps, countOps []porcupine.Operation) {
	for _, c := range calls {
		op := porcupine.Operation{ClientId: c.client, Call: c.begin, Return: c.end}
		switch c.op {
		case opRead:
			op.Input = section{Client: c.client, Token: c.token, Wrote: c.wrote}
			op.Output = sectionResult{Read: c.read, Write: c.writeOutcome}
			countOps = append(countOps, op)
		default:
			op.Input = lockCall{Client: c.client, Acquire: c.op == opAcquire, Token: c.token}
			op.Output = c.outcome
			lockOps = append(lockOps, op)
		}
	}
	return lockOps, countOps
}
