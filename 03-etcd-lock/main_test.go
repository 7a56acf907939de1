package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

// go run ./03-etcd-lock: which etcd is in use goes to stderr, the count to stdout.
func Example() {
	if err := run(context.Background(), nil, os.Stdout, io.Discard); err != nil {
		fmt.Println(err)
	}
	// Output: count: 100
}

func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run)
}

// watchedCounter is the counter with a watch on the critical section.
type watchedCounter struct {
	Counter
	inside workshoptest.Inside
}

func (w *watchedCounter) Incr() {
	w.inside.Enter()
	defer w.inside.Leave()
	time.Sleep(2 * time.Millisecond) // widen the window that a second holder would need
	w.Counter.Incr()
}

// The count alone could be right by luck: watch the critical section itself.
func TestNoTwoHoldersAtOnce(t *testing.T) {
	t.Parallel()
	// Bounded, as in run: Locker.Lock waits with the client's context.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	etcd, err := workshop.Connect(ctx, &workshop.Flags{DialTimeout: 10 * time.Second}, io.Discard)
	require.NoError(t, err)
	defer etcd.Close()

	var counter watchedCounter
	require.NoError(t, countWithLock(ctx, etcd, 30, &counter))
	assert.Equal(t, 30, counter.Count())
	assert.Equal(t, 1, counter.inside.Most(), "holders inside the critical section at once")
	assertNothingLeft(t, etcd.Client)
}

// Every session's lease is revoked and its key gone when the run ends.
func assertNothingLeft(t *testing.T, cli *clientv3.Client, except ...clientv3.LeaseID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := cli.Get(ctx, "/my-test-lock", clientv3.WithPrefix())
	require.NoError(t, err)
	assert.Len(t, keys.Kvs, len(except), "keys under /my-test-lock")
	leases, err := cli.Leases(ctx)
	require.NoError(t, err)
	var ids []clientv3.LeaseID
	for _, l := range leases.Leases {
		ids = append(ids, l.ID)
	}
	assert.ElementsMatch(t, except, ids, "leases left")
}

// holdTheLock takes /my-test-lock for the rest of the test, as another
// process would, and returns its lease and the revision it was taken at.
func holdTheLock(t *testing.T, cli *clientv3.Client) (clientv3.LeaseID, int64) {
	t.Helper()
	holder, err := concurrency.NewSession(cli)
	require.NoError(t, err)
	t.Cleanup(func() { holder.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	mutex := concurrency.NewMutex(holder, "/my-test-lock")
	require.NoError(t, mutex.Lock(ctx))
	return holder.Lease(), mutex.Header().Revision
}

// -timeout bounds Locker.Lock, which has no deadline of its own: with the lock
// held elsewhere, the run ends with one line, and takes nothing with it.
func TestTimeoutEndsTheWait(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	holder, _ := holdTheLock(t, etcd.Client)

	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(t.Context(), []string{"-endpoints", etcd.Endpoints[0], "-goroutines", "3", "-timeout", "2s"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Equal(t, "not done within -timeout 2s: etcd lock: context deadline exceeded", err.Error())
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second)
	assert.Empty(t, stdout.String(), "no count from a run that did not finish")
	assertNothingLeft(t, etcd.Client, holder)
}

// As a learner meets them: a clean run exits 0 with no log noise, a bad
// number exits 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "embedded etcd", Args: []string{"-goroutines", "3"}, Status: 0, Says: "count: 3"},
		workshoptest.Unreachable(t),
	)
}

// Issue 8: every number is checked; a bad one gets the usage and status 2.
func TestBadCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"-goroutines", "-3"}, `invalid value "-3" for flag -goroutines: must be 1 to 1000`},
		{[]string{"-goroutines", "0"}, `invalid value "0" for flag -goroutines: must be 1 to 1000`},
		{[]string{"-goroutines", "5000"}, `invalid value "5000" for flag -goroutines: must be 1 to 1000`},
		{[]string{"-goroutines", "many"}, `invalid value "many" for flag -goroutines: not a whole number`},
		{[]string{"-timeout", "0"}, `invalid value "0" for flag -timeout: must be 1s to 1h`},
		{[]string{"-dial-timeout", "0"}, `invalid value "0" for flag -dial-timeout: must be 100ms to 1h`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, &stdout, &stderr)
			assert.Equal(t, 2, cli.ExitCode(err, &stderr))
			assert.Contains(t, stderr.String(), tc.says)
			assert.Contains(t, stderr.String(), "Usage of 03-etcd-lock:")
			assert.NotContains(t, stderr.String(), "etcd: ", "no etcd started for a bad command line")
		})
	}
}
