// Not the lesson: the article's program run many times (the article shows
// three runs), its counts ten to a line, and a line that adds them up.
package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// printRounds runs the article's program rounds times and prints what it
// counted:
//
//	rounds 1-10:    992   990  1000   985   991   989   994   985   983   988
//	rounds that lost updates: 44 of 50 (lowest count: 983 of 1000)
func printRounds(ctx context.Context, stdout io.Writer, rounds, goroutines int) error {
	table := &roundsTable{stdout: stdout, goroutines: goroutines, lowest: goroutines}
	for i := 0; i < rounds; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		article(table, goroutines, newStartingLine(goroutines))
	}
	table.flush()
	fmt.Fprintf(stdout, "rounds that lost updates: %d of %d (lowest count: %d of %d)\n",
		table.lostRounds, rounds, table.lowest, goroutines)
	return nil
}

// roundsTable is where the article's program prints its count: each count
// becomes a cell of a line of ten.
type roundsTable struct {
	stdout     io.Writer
	goroutines int
	cells      []string // of the line being filled
	rounds     int
	lostRounds int
	lowest     int
}

// Write takes one count, as fmt.Fprintln(table, c.Count()) writes it.
func (t *roundsTable) Write(p []byte) (int, error) {
	count, err := strconv.Atoi(strings.TrimSpace(string(p)))
	if err != nil {
		return 0, fmt.Errorf("a round printed %q, not a count", p)
	}
	t.rounds++
	if count < t.goroutines {
		t.lostRounds++
	}
	t.lowest = min(t.lowest, count)
	t.cells = append(t.cells, fmt.Sprintf("%5d", count))
	if len(t.cells) == 10 {
		t.flush()
	}
	return len(p), nil
}

// flush prints the line being filled, if any.
func (t *roundsTable) flush() {
	if len(t.cells) == 0 {
		return
	}
	label := fmt.Sprintf("rounds %d-%d:", t.rounds-len(t.cells)+1, t.rounds)
	if len(t.cells) == 1 {
		label = fmt.Sprintf("round %d:", t.rounds)
	}
	fmt.Fprintf(t.stdout, "%-13s %s\n", label, strings.Join(t.cells, " "))
	t.cells = t.cells[:0]
}
