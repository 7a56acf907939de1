package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// How long the chapter waits for the workers before it says why on stderr.
const noticeAfter = 10 * time.Second

// journal records the workers' critical sections and failed lock attempts,
// to time them against the crash, and lets the story wait for them.
type journal struct {
	mu       sync.Mutex
	changed  chan struct{}     // closed and replaced on every change
	sections []section         // the successful ones
	failures []failure         // lock attempts and critical sections that failed
	unknown  int               // critical sections whose write may or may not have landed
	working  int               // workers still running
	locking  map[int]time.Time // workers in a lock attempt, since when
	crash    time.Time
	lastErr  error

	patience time.Duration // without a critical section, a wait gives up after this
	timeout  time.Duration // of one lock attempt
	stderr   io.Writer
}

type section struct{ began, ended time.Time }

type failure struct {
	at  time.Time
	err error
}

func newJournal(opt options, stderr io.Writer) *journal {
	// Long enough for an election on any cluster, and for a few lock attempts.
	patience := max(30*time.Second, 3*opt.timeout)
	return &journal{changed: make(chan struct{}), working: opt.workers, locking: map[int]time.Time{},
		patience: patience, timeout: opt.timeout, stderr: stderr}
}

func (j *journal) update(f func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f()
	close(j.changed)
	j.changed = make(chan struct{})
}

// attempting records that a worker begins a lock attempt.
func (j *journal) attempting(worker int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.locking[worker] = time.Now()
}

func (j *journal) failed(worker int, err error) {
	j.update(func() {
		delete(j.locking, worker)
		j.failures = append(j.failures, failure{time.Now(), err})
		j.lastErr = err
	})
}

func (j *journal) finished(worker int, began time.Time, err error) {
	j.update(func() {
		delete(j.locking, worker)
		switch {
		case err == nil:
			j.sections = append(j.sections, section{began, time.Now()})
		case errors.Is(err, errUnknown):
			j.unknown++
			j.lastErr = err
		default:
			j.failures = append(j.failures, failure{time.Now(), err})
			j.lastErr = err
		}
	})
}

// quit records a worker that could not start.
func (j *journal) quit(err error) {
	j.update(func() {
		j.working--
		j.lastErr = err
	})
}

func (j *journal) crashed(at time.Time) { j.update(func() { j.crash = at }) }

// waitSections returns once n critical sections have succeeded.
func (j *journal) waitSections(ctx context.Context, n int) error {
	return j.wait(ctx, func() bool { return len(j.sections) >= n })
}

// waitSectionsAfterCrash returns once n critical sections begun after the
// crash have succeeded.
func (j *journal) waitSectionsAfterCrash(ctx context.Context, n int) error {
	return j.wait(ctx, func() bool { return len(j.sectionsAfterCrash()) >= n })
}

// wait returns once done holds (it is called with j.mu held), or fails when
// no critical section has succeeded for j.patience. Failed attempts do not
// count as progress: a cluster without a quorum fails every one of them. Past
// noticeAfter, it says on stderr what it is waiting for.
func (j *journal) wait(ctx context.Context, done func() bool) error {
	since, seen, failedBefore, noticed := time.Now(), -1, 0, false
	for {
		j.mu.Lock()
		ok, changed, working := done(), j.changed, j.working
		succeeded, failed := len(j.sections), len(j.failures)
		state := j.state(failed - failedBefore)
		j.mu.Unlock()
		switch {
		case ok:
			return nil
		case working == 0:
			return fmt.Errorf("no worker could start: %s", state)
		case succeeded != seen:
			since, seen, failedBefore, noticed = time.Now(), succeeded, failed, false
			continue
		}
		idle := time.Since(since)
		if idle >= j.patience {
			return fmt.Errorf("no critical section for %s: %s", j.patience, state)
		}
		if !noticed && idle >= noticeAfter {
			fmt.Fprintf(j.stderr, "waiting: no critical section for %s: %s; giving up after %s\n", noticeAfter, state, j.patience)
			noticed = true
		}
		next := noticeAfter - idle
		if noticed {
			next = j.patience - idle
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(next):
		}
	}
}

// state says what the workers are doing: how many attempts failed, why, and
// who is still in one. Called with j.mu held.
func (j *journal) state(failed int) string {
	var parts []string
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d lock attempts failed, the last: %v", failed, j.lastErr))
	} else if j.lastErr != nil {
		parts = append(parts, fmt.Sprintf("the last error: %v", j.lastErr))
	}
	var longest time.Duration
	for _, since := range j.locking {
		longest = max(longest, time.Since(since))
	}
	if longest > 0 {
		part := fmt.Sprintf("%d workers in a lock attempt, the longest for %s", len(j.locking), longest.Round(100*time.Millisecond))
		if longest > j.timeout+time.Second {
			// Mutex.Lock, giving up, deletes its key with its client's
			// context: no deadline, and no delete without a quorum.
			part += fmt.Sprintf(" (past -lock-timeout %s: etcd's Mutex.Lock, giving up, waits to delete its key, which needs a quorum)", j.timeout)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "no lock attempt yet"
	}
	return strings.Join(parts, "; ")
}

// The methods below read the journal once the workers have stopped (or with
// j.mu held, from wait).

func (j *journal) done() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.sections)
}

func (j *journal) unknownOutcomes() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.unknown
}

func (j *journal) sectionsAfterCrash() []section {
	var after []section
	for _, s := range j.sections {
		if !j.crash.IsZero() && s.began.After(j.crash) {
			after = append(after, s)
		}
	}
	return after
}

// pause is the time from the crash to the end of the first critical section
// begun after it: how long the lock was out of reach.
func (j *journal) pause() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	var first time.Time
	for _, s := range j.sectionsAfterCrash() {
		if first.IsZero() || s.ended.Before(first) {
			first = s.ended
		}
	}
	return first.Sub(j.crash)
}

func (j *journal) failedAfterCrash() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, f := range j.failures {
		if f.at.After(j.crash) {
			n++
		}
	}
	return n
}

// failuresAfterCrash sums up why attempts failed after the crash:
// "2 (1× timed out, 1× etcdserver: leader changed)", or "none".
func (j *journal) failuresAfterCrash() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	count := map[string]int{}
	var order []string
	for _, f := range j.failures {
		if !f.at.After(j.crash) {
			continue
		}
		msg := f.err.Error()
		if errors.Is(f.err, context.DeadlineExceeded) {
			msg = "timed out"
		}
		if count[msg]++; count[msg] == 1 {
			order = append(order, msg)
		}
	}
	if len(order) == 0 {
		return "none"
	}
	var parts []string
	total := 0
	for _, msg := range order {
		parts = append(parts, fmt.Sprintf("%d× %s", count[msg], msg))
		total += count[msg]
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}
