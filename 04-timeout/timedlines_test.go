package main

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// timedLines is a stdout that notes when each line arrived, so the test
// measures the waits itself instead of trusting what the program prints.
type timedLines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial string
	lines   []timedLine
}

type timedLine struct {
	text string
	at   time.Time
}

func (w *timedLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.buf.Write(p)
	w.partial += string(p)
	for {
		i := strings.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, timedLine{w.partial[:i], now})
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *timedLines) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// all returns the lines matching re, with when they were written.
func (w *timedLines) all(re *regexp.Regexp) []timedLine {
	w.mu.Lock()
	defer w.mu.Unlock()
	var found []timedLine
	for _, l := range w.lines {
		if re.MatchString(l.text) {
			found = append(found, l)
		}
	}
	return found
}

// line returns the one line matching re.
func (w *timedLines) line(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	found := w.all(re)
	require.Len(t, found, 1, "lines matching %s in:\n%s", re, w.String())
	return found[0].text
}

// when returns when the one line matching re was written.
func (w *timedLines) when(t *testing.T, re *regexp.Regexp) time.Time {
	t.Helper()
	found := w.all(re)
	require.Len(t, found, 1, "lines matching %s in:\n%s", re, w.String())
	return found[0].at
}
