package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

// The lesson, checked where it cannot depend on the machine's load: etcd
// files a watch as "synced" (events sent as they are applied) or "unsynced"
// (events sent at the next 100 ms resync) when it creates it, from the
// watch's start revision and its own current one. Every watch of the
// workshop lock's waiter is synced; etcd Mutex's waiter's watch is not.
func TestOnlyTheWorkshopLockWaitsOnSyncedWatches(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	rec := &syncRecorder{Watcher: etcd.Client.Watcher, pfx: "/test-"}
	etcd.Client.Watcher = rec
	for _, tc := range []struct {
		name   string
		lock   newLock
		synced bool
	}{{"lock", projectLock, true}, {"etcd-mutex", etcdMutex, false}} {
		t.Run(tc.name, func(t *testing.T) {
			pfx := "/test-" + tc.name
			lat, err := handoffs(context.Background(), etcd, tc.lock, pfx, 3, time.Millisecond)
			require.NoError(t, err)
			assert.Len(t, lat, 3, "handoffs timed")
			synced, unsynced := rec.counts(pfx)
			if tc.synced {
				assert.Positive(t, synced, "the waiter's watches")
				assert.Zero(t, unsynced, "watches etcd files as unsynced: served by the 100 ms resync")
			} else {
				assert.Positive(t, unsynced, "etcd Mutex's waiter watches from its read's revision: unsynced")
			}
		})
	}
}

// syncRecorder wraps a client's Watcher and records, for each watch under
// pfx, whether etcd filed it as synced: a watch is synced if it starts at
// etcd's current revision (no start revision) or after it. The "created"
// answer's header is etcd's revision just after it filed the watch.
type syncRecorder struct {
	clientv3.Watcher
	pfx      string
	mu       sync.Mutex
	synced   map[string]int
	unsynced map[string]int
}

func (r *syncRecorder) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	if !strings.HasPrefix(key, r.pfx) {
		return r.Watcher.Watch(ctx, key, opts...)
	}
	op := clientv3.OpGet(key, opts...)
	in := r.Watcher.Watch(ctx, key, append(opts, clientv3.WithCreatedNotify())...)
	out := make(chan clientv3.WatchResponse)
	go func() {
		defer close(out)
		for wr := range in {
			if wr.Created {
				r.record(key, op.Rev() == 0 || op.Rev() > wr.Header.Revision)
				if !op.IsCreatedNotify() {
					continue
				}
			}
			select {
			case out <- wr:
			case <-ctx.Done():
				for range in {
				}
				return
			}
		}
	}()
	return out
}

func (r *syncRecorder) record(key string, synced bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.synced == nil {
		r.synced, r.unsynced = map[string]int{}, map[string]int{}
	}
	pfx := key[:len(r.pfx)+strings.IndexByte(key[len(r.pfx):], '/')]
	if synced {
		r.synced[pfx]++
	} else {
		r.unsynced[pfx]++
	}
}

func (r *syncRecorder) counts(pfx string) (synced, unsynced int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced[pfx], r.unsynced[pfx]
}

// No two sessions ever hold either lock at once (contended checks it).
func TestContendedMutualExclusion(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	for name, lock := range map[string]newLock{"etcd-mutex": etcdMutex, "lock": projectLock} {
		perSec, err := contended(context.Background(), etcd, lock, "/test-contended-"+name, 4, 500*time.Millisecond, 2*time.Millisecond, 0)
		require.NoError(t, err, name)
		assert.Positive(t, perSec, name)
	}
}

var summary = regexp.MustCompile(`^summary: write_p50=[0-9.]+ms mutex_handoff_p50=[0-9.]+ms mutex_handoff_mean=[0-9.]+ms ` +
	`lock_handoff_p50=[0-9.]+ms mutex_3=[0-9]+/s lock_3=[0-9]+/s$`)

var quick = []string{"-rounds", "2", "-writes", "2", "-hold", "1ms", "-sessions", "3", "-for", "200ms"}

// Against a shared etcd the chapter deletes every key it wrote, at the end
// and after Ctrl-C, and its last line is the summary.
func TestRunLeavesNoKeys(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	args := append([]string{"-endpoints", etcd.Endpoints[0]}, quick...)
	handoffKeys := func() []string {
		resp, err := etcd.Client.Get(context.Background(), keyPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		require.NoError(t, err)
		var keys []string
		for _, kv := range resp.Kvs {
			keys = append(keys, string(kv.Key))
		}
		return keys
	}

	t.Run("to the end", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		assert.Regexp(t, summary, lines[len(lines)-1])
		assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
		assert.Empty(t, handoffKeys())
	})
	for _, at := range []string{"handoffs of etcd's Mutex", "handoffs of the workshop's lock", "sessions contending"} {
		t.Run("Ctrl-C at "+at, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stderr := &cancelOn{want: at, cancel: cancel}
			err := run(ctx, args, &bytes.Buffer{}, stderr)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Empty(t, handoffKeys())
		})
	}
}

// cancelOn cancels shortly after a line containing want is written, in the
// middle of what that line announces, as Ctrl-C would.
type cancelOn struct {
	want   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.want)) {
		time.AfterFunc(100*time.Millisecond, c.cancel)
	}
	return len(p), nil
}

// go run ./08-handoff | head -1: the reader goes after one line; the chapter
// stops, and leaves no embedded etcd's data behind.
func TestClosedPipeLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, err := proc.Command(ctx, quick...)
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer // read once the child has exited
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	first, readErr := bufio.NewReader(stdout).ReadString('\n')
	stdout.Close() // head exits
	err = cmd.Wait()
	require.NoError(t, readErr, stderr.String())
	assert.Contains(t, first, "one etcd write")
	require.Error(t, err, "stopped by the closed pipe")
	assert.Equal(t, 141, cmd.ProcessState.ExitCode(), "128 + SIGPIPE: %s", stderr.String())
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("etcd-lock-workshop-*-pid%d-*", cmd.Process.Pid)))
	assert.Empty(t, left, "the embedded etcd's data dir")
}

func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run,
		workshoptest.R(`\b\d+ acquisitions/s`, "<n> acquisitions/s"),
		workshoptest.R(`workshop lock \d+/s`, "workshop lock <n>/s"),
		workshoptest.R(`\b(mutex|lock)_(\d+)=\d+/s`, "${1}_${2}=<n>/s"),
		workshoptest.R(`etcd Mutex \d+\.\d+, workshop lock \d+\.\d+`, "etcd Mutex <x>, workshop lock <x>"),
		workshoptest.Wide(`^summary: `), // ../shared/checks/handoff reads it as one line
	)
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	bad := func(name string, args ...string) workshoptest.ExitCase {
		return workshoptest.ExitCase{Name: name, Args: args, Status: 2, Says: "Usage of 08-handoff"}
	}
	workshoptest.CheckExits(t,
		bad("bad flag", "-rounds", "many"),
		bad("no rounds", "-rounds", "0"),
		bad("negative rounds", "-rounds", "-1"),
		bad("no writes", "-writes", "0"),
		bad("negative sessions", "-sessions", "-1"),
		bad("one session contends with nobody", "-sessions", "1"),
		bad("throughput run of no time", "-for", "0"),
		bad("negative hold", "-hold", "-1ms"),
		workshoptest.Unreachable(t),
	)
}
