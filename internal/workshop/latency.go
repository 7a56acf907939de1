package workshop

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Latencies are timed samples of one operation (chapter 08 and its benchmarks).
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

// histogramBounds are upper bounds of the histogram's buckets, roughly
// logarithmic: a write (~0.5 ms) and a 100 ms resync land far apart.
var histogramBounds = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond,
}

// Histogram prints one line per non-empty bucket: its range, a bar, a count.
func (l Latencies) Histogram(w io.Writer, width int) {
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
