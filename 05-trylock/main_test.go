package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lockview"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

// The lesson: while one session holds the lock, TryLock from another answers
// ErrLocked without waiting for the holder (it returned while the holder
// still held the lock, which it keeps until TryLock has answered) and leaves
// nothing queued; after the release the same call takes the lock.
func TestTryLockAnswersWhileTheLockIsHeld(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()

	var first, second bytes.Buffer
	var tried error
	var ownerAfter string
	var keysAfter []string
	holder := &window{w: &first, after: func(line string) {
		if strings.HasPrefix(line, "locked...") {
			tried = tryLock(ctx, etcd, 0, &second)
			owner, err := lockview.Owner(ctx, etcd, "/my-test-lock")
			require.NoError(t, err)
			if owner != nil {
				ownerAfter = string(owner.Key)
			}
			keysAfter = workshoptest.Keys(t, etcd, "/my-test-lock/")
		}
	}}
	require.NoError(t, tryLock(ctx, etcd, 0, holder))

	assert.ErrorIs(t, tried, concurrency.ErrLocked, "window 2: %s", second.String())
	assert.Regexp(t, `^locking\.\.\. \S+ \S+\nlock failed mutex: Locked by another session\n$`, second.String())
	require.NotEmpty(t, ownerAfter, "the lock was free when TryLock returned")
	assert.Equal(t, []string{ownerAfter}, keysAfter, "only the holder's key: a failed TryLock deletes its own")
	assert.Regexp(t, `^locking\.\.\. \S+ \S+\nlocked\.\.\. \S+ \S+\nreleased\.\.\. \S+ \S+\ncount: 1\n$`, first.String())

	// Released: the same call now takes the lock.
	second.Reset()
	require.NoError(t, tryLock(ctx, etcd, 0, &second), "TryLock after the release")
	assert.Regexp(t, `\nlocked\.\.\. .*\nreleased\.\.\. .*\ncount: 1\n$`, second.String())
	assert.Empty(t, workshoptest.Keys(t, etcd, "/my-test-lock/"), "Unlock leaves no key behind")
	assert.Empty(t, workshoptest.Leases(t, etcd), "every session revoked its lease")
}

// As a learner meets them: bad flags exit 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-hold", "long"}, Status: 2, Says: "Usage of 05-trylock"},
		workshoptest.ExitCase{Name: "negative hold", Args: []string{"-plain", "-hold", "-1s"}, Status: 2, Says: `invalid value "-1s" for flag -hold: must be 0s to 1h`},
		workshoptest.ExitCase{Name: "hold without plain", Args: []string{"-hold", "5s"}, Status: 2, Says: "-hold goes with -plain"},
		workshoptest.ExitCase{Name: "plain without etcd", Args: []string{"-plain"}, Status: 2, Says: "-plain needs -endpoints"},
		workshoptest.Unreachable(t),
	)
}

// The README's output blocks, from real runs.
func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run)
}

// The article's two windows ("窗口1、窗口2执行结果"): while window 1 holds the
// lock, window 2's TryLock fails at once with etcd's ErrLocked. (Timestamps
// dropped: they vary.)
func Example() {
	ctx := context.Background()
	etcd, err := workshop.Connect(ctx, &workshop.Flags{DialTimeout: 10 * time.Second}, &bytes.Buffer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer etcd.Close()
	var first, second bytes.Buffer
	window1 := &window{w: &first, after: func(line string) {
		if strings.HasPrefix(line, "locked...") {
			tryLock(ctx, etcd, 0, &second) // window 2, while window 1 holds the lock
		}
	}}
	if err := tryLock(ctx, etcd, 0, window1); err != nil {
		fmt.Println(err)
	}
	timestamp := regexp.MustCompile(` \d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	fmt.Print("window 1:\n", timestamp.ReplaceAllString(first.String(), ""))
	fmt.Print("window 2:\n", timestamp.ReplaceAllString(second.String(), ""))
	// Output:
	// window 1:
	// locking...
	// locked...
	// released...
	// count: 1
	// window 2:
	// locking...
	// lock failed mutex: Locked by another session
}

// In a shared etcd another program may hold /my-test-lock: the staged run
// says so once, in one line, and plays neither window.
func TestLockHeldByAnotherProgram(t *testing.T) {
	etcd := workshoptest.Etcd(t)
	other := workshoptest.HoldLock(t, etcd, "/my-test-lock")

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-endpoints", etcd.Endpoints[0]}, &stdout, &stderr)
	assert.EqualError(t, err, "/my-test-lock is held by another program (key "+other.Key()+
		"): wait until it is free, or use another etcd")
	assert.Empty(t, stdout.String(), "no window played")
}
