package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run, workshoptest.R(`revision \d+`, "revision <n>"))
}

// The election, in three processes: A leads and B and C wait in revision
// order; A killed without Resign leads on until its lease expires (the wait
// measured against the TTL, as in 04); B resigns and C leads at once;
// nothing is left behind.
func TestElection(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	const ttl = 4
	var stdout bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, elect(ctx, etcd, ttl, &stdout, &bytes.Buffer{}), stdout.String())
	out := stdout.String()

	assert.Regexp(t, `(?s)A: leading.*B: campaigning.*C: campaigning.*B: leading.*B: resigned.*C: leading.*C: resigned`, out,
		"A leads, then B, then C: the order their keys were put in")
	afterKill := seconds(t, out, `B leads (\S+)s after A was killed`)
	// A's last keepalive was at most TTL/3 before the kill: at least 2/3 of the TTL was left.
	assert.GreaterOrEqual(t, afterKill, ttl*2.0/3-0.1, "B led before A's lease could have expired")
	assert.Less(t, afterKill, ttl+10.0, "B waited far longer than A's lease")
	afterResign := seconds(t, out, `C leads (\S+)s after B was asked to resign`)
	assert.Less(t, afterResign, ttl*2.0/3, "a resignation hands over at once, not at a lease's expiry")
	assert.Contains(t, out, `no candidate left: Leader() says "election: no leader"`)
	assert.Contains(t, out, `observer: the leader says "C at work"`)
	assert.Empty(t, workshoptest.Keys(t, etcd, electionName), "keys left behind")
	assert.Empty(t, workshoptest.Leases(t, etcd), "leases left behind")
}

func seconds(t *testing.T, out, expr string) float64 {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(out)
	require.Len(t, m, 2, "no %q in:\n%s", expr, out)
	s, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return s
}

// Each pitfall's broken program goes wrong, and its fixed one does not,
// every time, on the etcd in go.mod.
func TestPitfalls(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	for _, p := range pitfalls {
		t.Run(p.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out bytes.Buffer
			s := &stage{etcd: etcd, out: &out, name: electionName + "-" + p.name}
			broke, worked, err := p.play(ctx, s)
			s.cleanup(ctx)
			require.NoError(t, err, out.String())
			assert.True(t, broke, "the broken program did not go wrong:\n%s", out.String())
			assert.True(t, worked, "the fix did not work:\n%s", out.String())
			assert.Empty(t, workshoptest.Keys(t, etcd, s.name), "keys left behind")
		})
	}
	assert.Empty(t, workshoptest.Leases(t, etcd), "leases left behind")
}

// Ctrl-C at any moment of a pitfall: no panic, and nothing left in etcd.
// In turn, not in parallel: compacted-campaign compacts the whole etcd.
func TestPitfallsInterrupted(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	for _, p := range pitfalls {
		for _, after := range []time.Duration{0, 10, 30, 100, 300, 700} {
			after *= time.Millisecond
			t.Run(fmt.Sprintf("%s after %s", p.name, after), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				time.AfterFunc(after, cancel)
				var out bytes.Buffer
				s := &stage{etcd: etcd, out: &out, name: electionName + "-" + p.name}
				_, _, err := p.play(ctx, s)
				s.cleanup(ctx)
				if err != nil && ctx.Err() == nil {
					t.Errorf("failed before the interrupt: %v\n%s", err, out.String())
				}
				assert.Empty(t, workshoptest.Keys(t, etcd, s.name+"/"), "keys left behind")
				assert.Empty(t, workshoptest.Leases(t, etcd), "leases left behind")
			})
		}
	}
}

// Bad command lines: the usage and 2; an etcd that never answers: one line.
func TestExits(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad ttl", Args: []string{"-ttl", "0"}, Status: 2, Says: "-ttl"},
		workshoptest.Unreachable(t),
	)
}
