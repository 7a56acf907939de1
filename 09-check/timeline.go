package main

import (
	"fmt"
	"io"
	"slices"
)

// The timeline of an illegal history in the terminal: who held the lock
// when, around the violation, and what each holder did with the count.

// hold is a time one client believed it held the lock: from its Lock's
// return to its Unlock's call (or its death).
type hold struct {
	client   int
	from, to int64 // nanoseconds since the start; to is never if it never let go
	work     string
	end      string // how it ended, unless by a plain Unlock
}

func holds(calls []call) []*hold {
	var all []*hold
	open := map[int]*hold{}
	for _, c := range calls {
		h := open[c.client]
		switch {
		case c.op == opAcquire && c.outcome == ok:
			h = &hold{client: c.client, from: c.end, to: never}
			open[c.client] = h
			all = append(all, h)
		case h == nil:
		case c.op == opRead:
			h.work = describe(c)
		case c.op == opRelease:
			h.to = c.begin
			switch c.outcome {
			case lost:
				h.end = "; Unlock: the lock was lost"
			case byLease:
				h.end = "; killed: its lease frees the lock"
			case unknown:
				h.end = "; Unlock: no answer"
			}
			delete(open, c.client)
		}
	}
	slices.SortStableFunc(all, func(a, b *hold) int { return compare(a.from, b.from) })
	return all
}

func describe(c call) string {
	switch {
	case c.read < 0:
		return "read failed"
	case c.writeOutcome == "":
		return fmt.Sprintf("read %d, did not write", c.read)
	case c.writeOutcome == ok:
		return fmt.Sprintf("read %d, wrote %d", c.read, c.wrote)
	default:
		return fmt.Sprintf("read %d, write %d %s", c.read, c.wrote, c.writeOutcome)
	}
}

// printTimeline prints the holds around the violation: for the lock, the
// first time two clients held it at once; for the data alone, the first
// section that no order of the sections can explain.
func printTimeline(w io.Writer, r *result) {
	all := holds(r.calls)
	if len(all) == 0 {
		return
	}
	line := func(h *hold, mark string) {
		fmt.Fprintf(w, "    %s-%s  client %d  %s%s%s%s\n", at(h.from), at(h.to), h.client, h.work, h.end, stopped(r.notes, h), mark)
	}
	fmt.Fprintln(w, "  who held the lock, around the violation (time since the experiment began):")
	i := slices.IndexFunc(all, func(o *hold) bool { return overlapped(all, o) })
	if i < 0 { // the lock's history is legal: show the first section nothing explains
		k := slices.IndexFunc(all, func(h *hold) bool { return h.to >= firstUnexplained(r) })
		if k < 0 {
			k = len(all) - 1
		}
		for _, h := range all[max(k-2, 0):min(k+3, len(all))] {
			line(h, "")
		}
		return
	}
	over := all[i]
	if i > 0 {
		line(all[i-1], "")
	}
	line(over, "")
	j := i + 1
	for ; j < len(all) && all[j].from < over.to; j++ {
	}
	during := all[i+1 : j] // the holds that began while over held the lock
	mark := fmt.Sprintf("   <- while client %d held it", over.client)
	for k, h := range during {
		switch {
		case k < 2 || k == len(during)-1:
			line(h, mark)
		case k == 2:
			fmt.Fprintf(w, "    ... %d more while client %d held it\n", len(during)-3, over.client)
		}
	}
	if j < len(all) {
		line(all[j], "") // the first after
	}
}

// overlapped: another client took the lock while o held it.
func overlapped(all []*hold, o *hold) bool {
	for _, h := range all {
		if h.client != o.client && h.from > o.from && h.from < o.to {
			return true
		}
	}
	return false
}

// firstUnexplained is when the first section began that porcupine could not
// place in any order: the longest order it found ends before it.
func firstUnexplained(r *result) int64 {
	placed := map[int]bool{}
	for _, partition := range r.countInfo.PartialLinearizations() {
		longest := []int{}
		for _, l := range partition {
			if len(l) > len(longest) {
				longest = l
			}
		}
		for _, i := range longest {
			placed[i] = true
		}
	}
	var t int64 = never
	for i, op := range r.countOps {
		if !placed[i] && op.Call < t {
			t = op.Call
		}
	}
	return t
}

// stopped says when the nemesis stopped this holder (or cut it off), if it did.
func stopped(notes []note, h *hold) string {
	for _, n := range notes {
		if n.Client == h.client && n.Mark != "" && n.From >= h.from && n.From <= h.to && n.To > n.From {
			return fmt.Sprintf(" (%s from %s to %s)", n.Mark, at(n.From), at(n.To))
		}
	}
	return ""
}

// at is a time since the start, in seconds.
func at(t int64) string {
	if t == never {
		return "never"
	}
	return fmt.Sprintf("%.3fs", float64(t)/1e9)
}
