package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

// The README's output is a real run's: every line, once what varies (times,
// ports, lease ids, durations, a goroutine's number) is set aside.
func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run, workshoptest.R(`goroutine \d+ \[running\]`, "goroutine <n> [running]"))
}

// stage is a Play on an etcd of the test's own, cleaned up with the test.
func stage(t *testing.T, wait time.Duration) (*Play, *workshoptest.Buffer) {
	t.Helper()
	out := &workshoptest.Buffer{}
	p := &Play{etcd: workshoptest.Etcd(t), out: out, status: io.Discard, wait: wait}
	t.Cleanup(func() {
		assert.NoError(t, p.cleanup(context.Background()))
		assert.Empty(t, leftInEtcd(t, p.etcd), "every lease revoked, every key gone")
	})
	return p, out
}

// leftInEtcd lists the leases and the lock's keys still in etcd.
func leftInEtcd(t *testing.T, etcd *workshop.Etcd) []string {
	t.Helper()
	ctx, cancel := etcd.WithTimeout(context.Background())
	defer cancel()
	var left []string
	leases, err := etcd.Client.Leases(ctx)
	require.NoError(t, err)
	for _, l := range leases.Leases {
		left = append(left, fmt.Sprintf("lease %x", l.ID))
	}
	keys, err := etcd.Client.Get(ctx, lockName+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	for _, kv := range keys.Kvs {
		left = append(left, "key "+string(kv.Key))
	}
	return left
}

// One session for all: all three goroutines are inside at once, every
// time, and two updates are lost; the workshop's lock refuses the second
// Mutex on the session instead. A session each: one at a time, none lost.
func TestSharedSession(t *testing.T) {
	t.Parallel()
	p, _ := stage(t, time.Second)
	ctx := context.Background()
	broken := p.NewRoom(ctx, workers)
	require.NoError(t, sharedSession(ctx, p, broken))
	assert.Equal(t, workers, broken.Most(), "holders inside at once, sharing a session")
	assert.Equal(t, int64(1), broken.Count(), "each read 0 before any wrote")

	refused, err := sharedSessionRefused(ctx, p)
	require.NoError(t, err)
	assert.ErrorIs(t, refused, lock.ErrSessionShared, "the workshop's lock, a second Mutex on the session")

	fixed := p.NewRoom(ctx, workers)
	require.NoError(t, sessionEach(ctx, p, fixed))
	assert.Equal(t, 1, fixed.Most(), "holders inside at once, a session each")
	assert.Equal(t, int64(workers), fixed.Count())
}

// Without a deadline the article's program is still waiting when the
// workshop gives up on it; with deadlines, the learner gets the error in
// about the deadline, and the same program locks as usual from a live etcd.
func TestNoDeadline(t *testing.T) {
	t.Parallel()
	p, _ := stage(t, time.Second)
	ctx := context.Background()
	silent, err := listenSilently()
	require.NoError(t, err)
	defer silent.Close()

	stuck, err := p.StuckFor(ctx, "NewSession", func(ctx context.Context) error { return noDeadline(ctx, []string{silent.URL}) })
	assert.True(t, stuck, "the article's program against an etcd that does not answer")
	assert.ErrorIs(t, err, context.Canceled, "ended by the workshop, not by itself")

	start := time.Now()
	err = withDeadlinesAt(ctx, []string{silent.URL})
	assert.EqualError(t, err, "grant a lease: context deadline exceeded", "the exact error a learner sees")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), requestTimeout)
	assert.Less(t, time.Since(start), 5*requestTimeout, "about the deadline, even on a busy machine")

	live, err := p.Client(ctx)
	require.NoError(t, err)
	assert.NoError(t, withDeadlines(ctx, live), "the fixed program against a live etcd")
}

// On a room's etcd, with authentication on, the fixed program locks as the
// chapter's user and under its namespace (the role allows /learners/ only):
// a client of its own without them got "user name is empty".
func TestNoDeadlineWithAuthentication(t *testing.T) {
	t.Parallel()
	room := workshoptest.AuthEtcd(t, workshop.LearnersPrefix)
	var out workshoptest.Buffer
	args := []string{"-endpoints", room, "-user", workshoptest.RoomUser + ":" + workshoptest.RoomPassword,
		"-name", "alice", "-wait", "1s", "no-deadline"}
	require.NoError(t, run(t.Context(), args, &out, io.Discard), out.String())
	assert.Contains(t, out.String(), "against the etcd in use: locked and unlocked "+lockName)
}

// Shut down while a goroutine waits: NewLocker panics, NewMutex returns the error.
func TestLockerPanics(t *testing.T) {
	t.Parallel()
	p, out := stage(t, time.Second)
	outcome, err := playLockerPanics(context.Background(), p)
	require.NoError(t, err)
	assert.True(t, outcome.Broke, out.String())
	assert.Equal(t, "locker.Lock() panicked: context canceled", outcome.Saw)
	assert.Regexp(t, `(?m)^    panic: context canceled\n    goroutine \d+ \[running\]:\n`+
		`    go\.etcd\.io/etcd/client/v3/concurrency\.\(\*lockerMutex\)\.Lock\(\.\.\.\)\n`+
		`    \tgo\.etcd\.io/etcd/client/v3@v`+regexp.QuoteMeta(version.Version)+`/concurrency/mutex\.go:\d+\n`+
		`    main\.lockerWaits\(\.\.\.\)\n    \t10-pitfalls/locker_panics\.go:\d+\n`, out.String(), "the first lines of the trace")
	assert.True(t, outcome.Worked)
	assert.Equal(t, `m.Lock(ctx) returned "context canceled"`, outcome.Fixed)
}

// A retried Unlock: with etcd's Mutex it deletes job 2's key and B gets in
// beside job 2; with the workshop's lock it deletes nothing.
func TestRetriedUnlock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		newMutex func(*concurrency.Session) mutex
		most     int
		retry    string
	}{
		{"etcd's Mutex", etcdMutex, 2, "job 1: Unlock, retried: ok; job 2's key is gone"},
		{"internal/lock", workshopLock, 1, "job 1: Unlock, retried: " + lock.ErrNotOwner.Error() + "; job 2's key is still there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, out := stage(t, time.Second)
			room := p.NewRoom(context.Background(), 0)
			require.NoError(t, twoJobs(context.Background(), p, room, tc.newMutex))
			assert.Equal(t, tc.most, room.Most(), out.String())
			assert.Contains(t, out.String(), "job 1: Unlock: context deadline exceeded (etcd did delete the key")
			assert.Contains(t, out.String(), tc.retry)
		})
	}
}

// A waiter's lease goes while it waits: etcd's Mutex waits until the holder
// leaves; both fixes give up while the holder still holds the lock.
func TestExpiredWhileWaiting(t *testing.T) {
	t.Parallel()
	const wait = 2 * time.Second
	for _, tc := range []struct {
		name   string
		wait   func(context.Context, *concurrency.Session) error
		hold   time.Duration
		before bool // B's Lock returns before A leaves
		err    error
	}{
		{"etcd's Mutex", etcdMutexWaits, wait, false, concurrency.ErrSessionExpired},
		{"session.Ctx()", sessionBoundWait, patience, true, context.Canceled},
		{"internal/lock", workshopLockWaits, patience, true, concurrency.ErrSessionExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, out := stage(t, wait)
			w, err := p.expireWaiter(context.Background(), tc.wait, tc.hold, false)
			require.NoError(t, err)
			assert.Equal(t, tc.before, w.beforeALeft, out.String())
			assert.ErrorIs(t, w.err, tc.err)
			if !tc.before {
				assert.GreaterOrEqual(t, w.after, wait, "waited as long as A held the lock")
			}
		})
	}
}

// Expire on a lease that etcd has expired already (a 1 s waiter's, its
// keepalives late on a busy machine) is the outcome it stages, no error.
func TestExpireAnExpiredLease(t *testing.T) {
	t.Parallel()
	p, _ := stage(t, time.Second)
	session, err := p.Session(t.Context(), nil, 60)
	require.NoError(t, err)
	require.NoError(t, p.Expire(t.Context(), session))
	assert.NoError(t, p.Expire(t.Context(), session), "a lease gone already")
}

// A's work outlives its lease: blind, it overwrites B's update; checking its
// session first, it does not write; checking, then paused, it does again.
func TestWorkOutlivesLease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		holder        func(*Holder)
		count, writes int
	}{
		{"blind", blind, 1, 2},
		{"checked", checked, 1, 1},
		{"checked, then paused", checkedThenPaused, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, out := stage(t, time.Second)
			room, err := p.holdAndWork(context.Background(), tc.holder)
			require.NoError(t, err)
			assert.Equal(t, int64(tc.count), room.Count(), out.String())
			assert.Equal(t, tc.writes, room.Writes(), out.String())
		})
	}
}

// As a learner meets them: an unknown pitfall or a bad flag prints the usage
// and exits 2, an etcd that is not there exits 1 in time.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "unknown pitfall", Args: []string{"no-such"}, Status: 2, Says: `unknown pitfall "no-such"`},
		workshoptest.ExitCase{Name: "wait too short", Args: []string{"-wait", "10ms"}, Status: 2, Says: "Usage: go run ./10-pitfalls"},
		workshoptest.ExitCase{Name: "a flag after the name", Args: []string{"shared-session", "-wait", "x"}, Status: 2, Says: `invalid value "x" for flag -wait`},
		workshoptest.Unreachable(t),
	)
}

// where each pitfall is mid-way: a line it prints while something waits or
// holds the lock, the moment to stop it.
var midWay = map[string]string{
	"shared-session":        "(1 inside)",
	"no-deadline":           "-- broken:",
	"locker-panics":         "B: locker.Lock() waits for A",
	"retried-unlock":        "job 2: locked",
	"expired-while-waiting": "B's lease is revoked",
	"work-outlives-lease":   "B: locked",
}

// Stopped at any point, run returns with nothing of its own still running:
// no goroutine of this program is left, blocked or not.
func TestStoppedRunLeavesNoGoroutine(t *testing.T) {
	for _, pitfall := range pitfalls {
		t.Run(pitfall.Name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &cancelAt{line: midWay[pitfall.Name], cancel: cancel}
			err := run(ctx, []string{pitfall.Name}, out, io.Discard)
			require.True(t, out.seen(), "stopped mid-way: %v", err)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Eventually(t, func() bool { return len(ownGoroutines()) == 0 }, 5*time.Second, 20*time.Millisecond,
				"goroutines of this program left after run returned:\n%s", strings.Join(ownGoroutines(), "\n\n"))
		})
	}
}

// cancelAt is an output that cancels the run when a line contains line.
type cancelAt struct {
	line   string
	cancel context.CancelFunc
	mu     sync.Mutex
	found  bool
}

func (c *cancelAt) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.found && strings.Contains(string(p), c.line) {
		c.found = true
		c.cancel()
	}
	return len(p), nil
}

func (c *cancelAt) seen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.found
}

// ownGoroutines are the stacks of the goroutines running this package's
// code, or started by it, but for the test's own.
func ownGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var own []string
	for _, g := range strings.Split(string(buf), "\n\n")[1:] { // [0] is this goroutine
		if strings.Contains(g, "etcd-lock-workshop/10-pitfalls.") && !strings.Contains(g, "testing.tRunner") {
			own = append(own, g)
		}
	}
	return own
}
