package main

// Benchmarks of what a lock costs, run side by side on one embedded etcd:
//
//	go test -run '^$' -bench . -benchmem -benchtime 50x ./08-handoff
//
// Latencies are reported as percentiles (p50-ms, p99-ms) and means (mean-ms),
// throughput as acquisitions/s and as acquisitions per write-time (acquisitions/s
// times the p50 of one Put: after 10 ms of quiet, as in the chapter's summary,
// and back to back). etcd keeps its data on disk with fsync, as in production.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

var locks = []struct {
	name string
	new  newLock
}{{"etcd-mutex", etcdMutex}, {"lock", projectLock}}

func reportLatencies(b *testing.B, lat Latencies) {
	b.ReportMetric(float64(lat.Percentile(50))/1e6, "p50-ms")
	b.ReportMetric(float64(lat.Percentile(99))/1e6, "p99-ms")
	b.ReportMetric(float64(lat.Mean())/1e6, "mean-ms")
}

func BenchmarkSyncMutex(b *testing.B) {
	var mu sync.Mutex
	for b.Loop() {
		mu.Lock()
		mu.Unlock() //nolint:staticcheck // the cost of the pair is the point
	}
}

// One Put, back to back (warm) and after 10ms of quiet (as an Unlock comes).
func BenchmarkWrite(b *testing.B) {
	etcd := workshoptest.Etcd(b)
	for _, pause := range []time.Duration{0, 10 * time.Millisecond} {
		b.Run(fmt.Sprintf("pause=%s", pause), func(b *testing.B) {
			lat, err := writes(context.Background(), etcd, b.N, pause)
			if err != nil {
				b.Fatal(err)
			}
			reportLatencies(b, lat)
		})
	}
}

func BenchmarkUncontended(b *testing.B) {
	etcd := workshoptest.Etcd(b)
	ctx := context.Background()
	for _, l := range locks {
		b.Run(l.name, func(b *testing.B) {
			s, err := etcd.NewSession(ctx, 60)
			if err != nil {
				b.Fatal(err)
			}
			defer etcd.CloseSession(ctx, s)
			m := l.new(s, "/bench-uncontended-"+l.name)
			var lat Latencies
			for b.Loop() {
				start := time.Now()
				if err := m.Lock(ctx); err != nil {
					b.Fatal(err)
				}
				if err := m.Unlock(ctx); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportLatencies(b, lat)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lock+unlock/s")
		})
	}
}

// Holder calls Unlock, a waiter blocked in Lock returns, at a random moment
// of etcd's resync period: see handoffs.
func BenchmarkHandoff(b *testing.B) {
	etcd := workshoptest.Etcd(b)
	for _, l := range locks {
		b.Run(l.name, func(b *testing.B) {
			lat, err := handoffs(context.Background(), etcd, l.new, "/bench-handoff-"+l.name, b.N, 10*time.Millisecond)
			if err != nil {
				b.Fatal(err)
			}
			reportLatencies(b, lat)
		})
	}
}

// Sessions taking the lock in a loop, b.N acquisitions in all.
func BenchmarkContended(b *testing.B) {
	etcd := workshoptest.Etcd(b)
	// The write-times, on the same etcd: after 10 ms of quiet, and back to back.
	quiet, err := writes(context.Background(), etcd, 50, 10*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	warm, err := writes(context.Background(), etcd, 200, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range locks {
		for _, n := range []int{2, 8, 32} {
			b.Run(fmt.Sprintf("%s/sessions=%d", l.name, n), func(b *testing.B) {
				pfx := fmt.Sprintf("/bench-contended-%s-%d", l.name, n)
				perSec, err := contended(context.Background(), etcd, l.new, pfx, n, time.Minute, 0, int64(b.N))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(perSec, "acquisitions/s")
				b.ReportMetric(perSec*quiet.Percentile(50).Seconds(), "acq/write-time")
				b.ReportMetric(perSec*warm.Percentile(50).Seconds(), "acq/warm-write-time")
			})
		}
	}
}

func BenchmarkSession(b *testing.B) {
	etcd := workshoptest.Etcd(b)
	ctx := context.Background()
	var lat Latencies
	for b.Loop() {
		start := time.Now()
		s, err := etcd.NewSession(ctx, 60)
		if err != nil {
			b.Fatal(err)
		}
		if err := etcd.CloseSession(ctx, s); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatencies(b, lat)
}

func BenchmarkEmbeddedStart(b *testing.B) {
	var lat Latencies
	for b.Loop() {
		start := time.Now()
		e, err := workshop.StartEmbedded(context.Background(), workshop.EmbeddedOptions{})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		e.Close()
	}
	reportLatencies(b, lat)
}
