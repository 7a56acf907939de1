package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"sync"
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

// connect starts an embedded cluster whose client ends with ctx, as in a run.
func connect(t *testing.T, ctx context.Context) *cluster.Cluster {
	t.Helper()
	// Generous: under -race on 2 busy cores etcd is several times slower.
	c, err := cluster.Open(ctx, &workshop.Flags{DialTimeout: 10 * time.Second}, "", io.Discard)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func watched(inside *workshoptest.Inside) options {
	return options{workers: 5, sections: 10, timeout: 2 * time.Second,
		work: func(ctx context.Context, counter *Counter) error {
			inside.Enter()
			defer inside.Leave()
			return counter.Incr(ctx)
		}}
}

// The whole lesson on an embedded cluster, with the critical section watched.
func TestFailover(t *testing.T) {
	t.Parallel()
	c := connect(t, context.Background())
	var inside workshoptest.Inside
	var stdout, stderr bytes.Buffer
	opt := watched(&inside)
	r, err := failover(context.Background(), c, opt, &stdout, &stderr)
	require.NoError(t, err, "%s\n%s", stdout.String(), stderr.String())

	// The leader crashed, and the others elected another one. (How long
	// that took is no test: on a busy machine the leader may already have
	// missed heartbeats before the crash.)
	assert.NotEmpty(t, r.leader)
	assert.NotEmpty(t, r.newLeader)
	assert.NotEqual(t, r.leader, r.newLeader, "a new leader")
	assert.Positive(t, r.electedAfter)
	assert.Positive(t, r.pause)

	// No update lost, across the crash, and only ever one holder inside.
	assert.Equal(t, r.sections, r.count, "counter = successful critical sections")
	assert.Equal(t, r.sections+1, r.finalCount, "and the one after the restart")
	assert.GreaterOrEqual(t, r.sections, 2*opt.sections, "sections before the crash and after")
	assert.Equal(t, 1, inside.Most(), "holders inside the critical section at once")

	// With 2 of 3 down, the lock attempt failed clearly, at its timeout.
	require.Error(t, r.noQuorum)
	assert.ErrorIs(t, r.noQuorum, context.DeadlineExceeded)
	assert.Contains(t, r.noQuorum.Error(), "no quorum (no leader) with 2 of 3 members down")
	assert.GreaterOrEqual(t, r.noQuorumAfter, opt.timeout, "it kept trying until its timeout")
	assert.Less(t, r.noQuorumAfter, opt.timeout+10*time.Second, "no hang")

	// Back to 3 of 3: a leader again, and nothing left behind.
	assert.NotEmpty(t, r.restartedLeader)
	assertLeftAsFound(t, c)
}

// assertLeftAsFound: every member runs, no lease and no counter is left.
func assertLeftAsFound(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	for _, m := range c.Embedded.Members {
		assert.True(t, c.Embedded.Running(m.Name), "%s runs again", m.Name)
	}
	assert.Empty(t, c.Stopped())
	// A client of our own: the chapter's may end with its context.
	cli, err := workshop.NewClient(context.Background(), c.Endpoints, 10*time.Second)
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leases, err := cli.Leases(ctx)
	require.NoError(t, err)
	assert.Empty(t, leases.Leases, "every session's lease revoked")
	resp, err := cli.Get(ctx, counterKey)
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs, "the counter deleted")
}

// An etcd of one member (go run ./etcd) is refused in one line, before a
// word about crashing members with docker.
func TestRefusesAnEtcdOfOneMember(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-endpoints", etcd.Endpoints[0]}, &stdout, &stderr)
	require.Error(t, err)
	assert.Equal(t, "the etcd at "+etcd.Endpoints[0]+" has 1 member(s) (workshop), and crashing members needs a cluster of 3: "+
		"the compose cluster (go run ./etcd/cluster up), or no -endpoints for an embedded one", err.Error())
	assert.NotContains(t, stderr.String(), "docker")
	assert.Empty(t, stdout.String())

	// The room's etcd, with its user: logged in, then refused the same way.
	room := workshoptest.AuthEtcd(t, "/learners/")
	err = run(t.Context(), []string{"-endpoints", room, "-user", workshoptest.RoomUser + ":" + workshoptest.RoomPassword},
		&stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the etcd at "+room+" has 1 member(s)")
}

// A cluster with a member down is refused before anything is touched: no
// member stopped, no key written, and the member that was down stays down.
func TestRefusesAClusterNotWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := connect(t, ctx)
	_, err := c.Embedded.Stop(ctx, "etcd3") // by someone else: not ours to restart
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	var inside workshoptest.Inside
	_, err = failover(ctx, c, watched(&inside), &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the cluster is not whole: etcd3 not answering (members answering: etcd1, etcd2; not answering: etcd3; leader etcd")
	assert.Contains(t, err.Error(), "start every member first")
	assert.Empty(t, stdout.String(), "nothing happened")
	assert.True(t, c.Embedded.Running("etcd1"))
	assert.True(t, c.Embedded.Running("etcd2"))
	assert.False(t, c.Embedded.Running("etcd3"), "left as found")
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.Client.Get(rctx, counterKey)
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs, "nothing written")
}

// cancelAfterStops cancels the run right after its nth crash: Ctrl-C.
type cancelAfterStops struct {
	cluster.Members
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfterStops) Stop(ctx context.Context, name string) (time.Time, error) {
	died, err := c.Members.Stop(ctx, name)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return died, err
}

// Ctrl-C with the leader down, or with 2 of 3 down: the members 06 stopped
// are started again, its leases revoked, the counter deleted.
func TestCtrlCRestoresTheCluster(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		stops int
	}{{"leader down", 1}, {"no quorum", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := connect(t, ctx)
			c.Members = &cancelAfterStops{Members: c.Members, n: tc.stops, cancel: cancel}
			var stdout, stderr bytes.Buffer
			var inside workshoptest.Inside
			_, err := failover(ctx, c, watched(&inside), &stdout, &stderr)
			require.ErrorIs(t, err, context.Canceled, "%s\n%s", stdout.String(), stderr.String())
			assert.Regexp(t, `starting etcd\d( and etcd\d)? again, which 06 stopped`, stderr.String())
			assert.NotContains(t, stderr.String(), "could not leave the cluster")
			assertLeftAsFound(t, c)
		})
	}
}

// What a learner sees, checked against the README. The rules hide the counts
// and names that vary; the same run's counts are checked against each other.
func TestREADME(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var outputs []string
	capture := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		var own bytes.Buffer
		err := run(ctx, args, io.MultiWriter(stdout, &own), stderr)
		mu.Lock()
		outputs = append(outputs, own.String())
		mu.Unlock()
		return err
	}
	workshoptest.CheckREADMEs(t, capture,
		workshoptest.R(`\betcd[1-3]\b`, "etcdN"),
		workshoptest.R(`\b\d+ critical sections?\b`, "<n> critical sections"),
		workshoptest.R(`\bcount(:?) \d+`, "count$1 <n>"),
		workshoptest.R(`failed after the crash: .*`, "failed after the crash: <failures>"),
		// The time since the start is padded to one width: "+2.2s  ", "+10.6s " (a slow run).
		workshoptest.R(`(\+\d+\.\ds) +`, "$1 "),
	)
	require.NotEmpty(t, outputs)
	for _, out := range outputs {
		checkCounts(t, out)
	}
}

func checkCounts(t *testing.T, out string) {
	t.Helper()
	find := func(expr string) []string {
		m := regexp.MustCompile(expr).FindStringSubmatch(out)
		require.NotNil(t, m, "%s in:\n%s", expr, out)
		return m
	}
	stopped := find(`stopping the leader, (etcd\d)`)
	elected := find(`new leader (etcd\d)`)
	assert.NotEqual(t, stopped[1], elected[1], "a new leader")
	before := find(`workers stopped: count (\d+) = (\d+) critical sections, no update lost`)
	assert.Equal(t, before[1], before[2], "count = successful critical sections")
	after := find(`locked again: count (\d+) = (\d+) critical sections\ncount: (\d+)\n$`)
	assert.Equal(t, after[1], after[2])
	assert.Equal(t, after[1], after[3])
	n, _ := strconv.Atoi(before[1])
	m, _ := strconv.Atoi(after[1])
	assert.Equal(t, n+1, m, "one more critical section after the restart")
	failed := find(`lock attempt timed out after (\d+\.\d)s: no quorum`)
	seconds, _ := strconv.ParseFloat(failed[1], 64)
	assert.GreaterOrEqual(t, seconds, 2.0, "the default -lock-timeout, 2s")
	assert.Less(t, seconds, 12.0, "no hang")
	assert.NotContains(t, out, `"level"`, "no etcd JSON logs")
}

// As a learner meets them: bad flags exit 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-workers", "many"}, Status: 2, Says: "Usage of 06-failover"},
		workshoptest.ExitCase{Name: "no worker", Args: []string{"-workers", "0"}, Status: 2, Says: "must be 1 to 100"},
		workshoptest.ExitCase{Name: "no section", Args: []string{"-sections", "-1"}, Status: 2, Says: "must be 1 to 1000"},
		workshoptest.ExitCase{Name: "no lock timeout", Args: []string{"-lock-timeout", "0"}, Status: 2, Says: "must be 100ms to 1m"},
		workshoptest.Unreachable(t),
	)
}
