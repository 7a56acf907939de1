package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

// The whole lesson on an embedded cluster, with the critical section watched.
func TestFailover(t *testing.T) {
	t.Parallel()
	// Generous: under -race on 2 busy cores etcd is several times slower.
	c, err := cluster.Connect(context.Background(), &workshop.Flags{DialTimeout: 10 * time.Second}, "", &bytes.Buffer{})
	require.NoError(t, err)
	defer c.Close()

	var inside, most atomic.Int32
	var out bytes.Buffer
	const timeout = 2 * time.Second
	r, err := failover(context.Background(), c, options{workers: 5, sections: 10, timeout: timeout,
		work: func(counter *Counter, ctx context.Context) error {
			n := inside.Add(1)
			defer inside.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			return counter.Incr(ctx)
		}}, &out)
	require.NoError(t, err, out.String())

	// The leader crashed, and a crash is not a hand-over: the followers
	// waited out their election timeout (500-1000 ms after the last heartbeat).
	assert.NotEmpty(t, r.leader)
	assert.NotEmpty(t, r.newLeader)
	assert.NotEqual(t, r.leader, r.newLeader)
	assert.GreaterOrEqual(t, r.electedAfter, 400*time.Millisecond, "new leader too soon for an election")
	assert.Less(t, r.pause, 15*time.Second, "election pause")
	assert.GreaterOrEqual(t, r.pause, 400*time.Millisecond, "no critical section can finish without a leader")

	// No update lost, across the crash: read the counter ourselves.
	count, err := (&Counter{etcd: c.Etcd}).Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, r.sections+1, count, "counter = successful critical sections, and the one after the restart")
	assert.Equal(t, count, r.finalCount)
	assert.GreaterOrEqual(t, r.sections, 20, "10 before the crash and 10 after")
	assert.Equal(t, int32(1), most.Load(), "holders inside the critical section at once")

	// With 2 of 3 down, the lock attempt failed clearly, within its timeout.
	require.Error(t, r.noQuorum)
	assert.ErrorIs(t, r.noQuorum, context.DeadlineExceeded)
	assert.Contains(t, r.noQuorum.Error(), "no quorum: 2 of 3 members down")
	assert.GreaterOrEqual(t, r.noQuorumAfter, timeout-100*time.Millisecond, "it kept trying until its timeout")
	assert.Less(t, r.noQuorumAfter, timeout+5*time.Second, "no hang")

	// Back to 3 of 3: a leader again.
	assert.NotEmpty(t, r.restartedLeader)
}

// What a learner sees: the timeline on stdout, which etcd on stderr.
func TestRun(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-workers", "3", "-sections", "5"}, &stdout, &stderr), stderr.String())
	out := stdout.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0\.\ds +3 workers, each with its own session`),
		regexp.MustCompile(`stopping the leader, etcd\d \(a crash: no hand-over\)`),
		regexp.MustCompile(`new leader etcd\d, seen \(by polling the members\) \d+\.\ds after the crash`),
		regexp.MustCompile(`done \d+\.\ds after it: the election pause`),
		regexp.MustCompile(`workers stopped: count (\d+) = (\d+) critical sections, no update lost`),
		regexp.MustCompile(`stopping etcd\d too: 2 of 3 members down`),
		regexp.MustCompile(`lock failed after 2\.\ds: no quorum: 2 of 3 members down`),
		regexp.MustCompile(`restarted: 3 of 3 members up, leader etcd\d`),
		regexp.MustCompile(`locked again: count (\d+) = (\d+) critical sections\ncount: (\d+)\n$`),
	} {
		assert.Regexp(t, want, out)
	}
	if m := regexp.MustCompile(`locked again: count (\d+) = (\d+) critical sections\ncount: (\d+)\n$`).FindStringSubmatch(out); assert.NotNil(t, m) {
		assert.Equal(t, m[1], m[2])
		assert.Equal(t, m[1], m[3])
		n, _ := strconv.Atoi(m[3])
		assert.GreaterOrEqual(t, n, 11)
	}
	assert.Contains(t, stderr.String(), "etcd: embedded 3-member cluster, etcd 3.7.3 at http://127.0.0.1:")
	assert.NotContains(t, stdout.String()+stderr.String(), `"level"`, "no etcd JSON logs")
}

// As a learner meets them: bad flags exit 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-workers", "many"}, Status: 2, Says: "Usage of 06-failover"},
		workshoptest.Unreachable(t),
	)
}
