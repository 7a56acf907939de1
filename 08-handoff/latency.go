package main

// Measuring, not the lesson: latency samples, their percentiles and mean, a
// histogram, and the milliseconds they are printed in.

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Latencies are timed samples of one operation.
type Latencies []time.Duration

// Percentile returns the p-th percentile (0-100) by nearest rank; 0 if empty.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Mean returns the average; 0 if empty.
func (l Latencies) Mean() time.Duration {
	if len(l) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return sum / time.Duration(len(l))
}

// Ms formats d in milliseconds, precise enough for sub-millisecond writes: "0.45ms", "93.1ms".
func Ms(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.0fms", ms)
	}
}

// histogramBounds are upper bounds of the histogram's buckets: logarithmic up
// to 10 ms, where a write (~1 ms) lands, then 10 ms wide up to 100 ms, so
// that a wait spread evenly over etcd's 100 ms resync shows as even bars.
var histogramBounds = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond,
	50 * time.Millisecond, 60 * time.Millisecond, 70 * time.Millisecond, 80 * time.Millisecond,
	90 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
}

// Histogram prints one line per non-empty bucket: its range, a bar, a count.
func (l Latencies) Histogram(w io.Writer, width int) {
	if len(l) == 0 {
		return
	}
	counts := make([]int, len(histogramBounds)+1)
	for _, d := range l {
		i, _ := slices.BinarySearch(histogramBounds, d)
		counts[i]++
	}
	most := slices.Max(counts)
	for i, n := range counts {
		if n == 0 {
			continue
		}
		label := "  > " + short(histogramBounds[len(histogramBounds)-1])
		if i < len(histogramBounds) {
			label = "  <= " + short(histogramBounds[i])
		}
		bar := strings.Repeat("#", max(1, n*width/most))
		fmt.Fprintf(w, "%-10s %-*s %d\n", label, width, bar, n)
	}
}

func short(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
