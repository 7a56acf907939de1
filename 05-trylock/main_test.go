package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

// lockKeys are the keys under the article's lock name: one per holder or waiter.
func lockKeys(t *testing.T, etcd *workshop.Etcd) []string {
	t.Helper()
	ctx, cancel := etcd.WithTimeout(context.Background())
	defer cancel()
	resp, err := etcd.Client.Get(ctx, "/my-test-lock/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys
}

// The lesson: while one session holds the lock, TryLock from another fails at
// once with ErrLocked and leaves nothing queued; after the release it succeeds.
func TestTryLockFailsAtOnceThenSucceeds(t *testing.T) {
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()

	var holder, other bytes.Buffer
	var tryErr error
	var tookTry time.Duration
	var keysWhileHeld []string
	err := tryLock(ctx, etcd, &holder, func() error {
		start := time.Now()
		tryErr = tryLock(ctx, etcd, &other, func() error {
			t.Error("the second session got the lock while the first held it")
			return nil
		})
		tookTry = time.Since(start) // includes its session's lease grant
		keysWhileHeld = lockKeys(t, etcd)
		return nil
	})
	require.NoError(t, err)

	assert.ErrorIs(t, tryErr, concurrency.ErrLocked)
	assert.Less(t, tookTry, time.Second, "TryLock must not wait for the holder")
	assert.Contains(t, other.String(), "lock failed mutex: Locked by another session (TryLock took ")
	assert.Len(t, keysWhileHeld, 1, "only the holder's key: a failed TryLock deletes its own")
	assert.Regexp(t, `(?s)locked\.\.\.\n.*released\.\.\.\n$`, holder.String())

	// Released: the same call now takes the lock, and is the only key while it holds it.
	other.Reset()
	var keysWhileRetried []string
	err = tryLock(ctx, etcd, &other, func() error {
		keysWhileRetried = lockKeys(t, etcd)
		return nil
	})
	require.NoError(t, err, "TryLock after the release")
	assert.Len(t, keysWhileRetried, 1)
	assert.Regexp(t, `(?s)locked\.\.\.\n.*released\.\.\.\n$`, other.String())
	assert.Empty(t, lockKeys(t, etcd), "Unlock leaves no key behind")
	assert.Empty(t, leases(t, etcd), "every session revoked its lease")
}

// leases are the leases etcd still keeps: each session's, until revoked or expired.
func leases(t *testing.T, etcd *workshop.Etcd) []clientv3.LeaseStatus {
	t.Helper()
	ctx, cancel := etcd.WithTimeout(context.Background())
	defer cancel()
	resp, err := etcd.Client.Leases(ctx)
	require.NoError(t, err)
	return resp.Leases
}

var timestamp = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`

// The whole command, as a learner runs it: terminal 2 is a real second process.
func TestBothOutcomesInOneCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), nil, &stdout, &stderr), stderr.String())

	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	want := []string{
		`^\[terminal 1\] ` + timestamp + ` locked\.\.\.$`,
		`^\[terminal 2\] ` + timestamp + ` lock failed mutex: Locked by another session \(TryLock took (\d+)ms\)$`,
		`^\[terminal 1\] ` + timestamp + ` released\.\.\.$`,
		`^\[terminal 2\] ` + timestamp + ` locked\.\.\.$`,
		`^\[terminal 2\] ` + timestamp + ` released\.\.\.$`,
	}
	require.Len(t, lines, len(want), stdout.String())
	for i, re := range want {
		assert.Regexp(t, re, lines[i])
	}
	if m := regexp.MustCompile(want[1]).FindStringSubmatch(lines[1]); assert.NotNil(t, m) {
		assert.Less(t, len(m[1]), 4, "TryLock took %sms: it must fail at once, not wait", m[1])
	}
	assert.Contains(t, stderr.String(), "etcd: embedded etcd 3.7.3 at http://127.0.0.1:")
	assert.Equal(t, 2, strings.Count(stderr.String(), "terminal 2: started 05-trylock -plain (pid "))
	assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
}

// The article's two terminals against a shared etcd: terminal 1 holds the lock
// with -plain -hold, terminal 2's -plain fails; after Ctrl-C in terminal 1 it
// is released, and terminal 2 gets it.
func TestTwoTerminals(t *testing.T) {
	etcd := workshoptest.Etcd(t)
	endpoint := etcd.Endpoints[0]

	terminal1, err := workshop.StartChild(context.Background(), "-plain", "-hold", "10m", "-endpoints", endpoint)
	require.NoError(t, err)
	defer terminal1.Kill()
	_, err = terminal1.WaitFor("locked...", nil, 30*time.Second)
	require.NoError(t, err)

	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-plain", "-endpoints", endpoint}, &stdout, &stderr))
	assert.Regexp(t, `^`+timestamp+` lock failed mutex: Locked by another session \(TryLock took \d+ms\)\n$`, stdout.String())
	assert.Contains(t, stderr.String(), "etcd: external etcd at "+endpoint)

	// Ctrl-C ends the hold early, and the lock is still released on the way out.
	require.NoError(t, terminal1.Signal(syscall.SIGINT))
	_, err = terminal1.WaitFor("released...", nil, 30*time.Second)
	require.NoError(t, err)
	terminal1.Wait()
	assert.True(t, terminal1.State().Exited(), "terminal 1 exited by itself after Ctrl-C, not by a signal: %v", terminal1.State())
	assert.Empty(t, leases(t, etcd), "terminal 1 revoked its lease on the way out")

	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"-plain", "-hold", "0s", "-endpoints", endpoint}, &stdout, &stderr))
	assert.Regexp(t, `^`+timestamp+` locked\.\.\.\n`+timestamp+` released\.\.\.\n$`, stdout.String())
}

// As a learner meets them: bad flags exit 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-hold", "long"}, Status: 2, Says: "Usage of 05-trylock"},
		workshoptest.Unreachable(t),
	)
}
