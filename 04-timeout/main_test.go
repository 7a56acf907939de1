package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

const ttl = 2 // seconds; with the embedded etcd's settings leases of 1 s and up are kept as asked

// The whole lesson in one run: the killed holder's lock is free only once its
// lease has expired; then the survivor keeps the lock through work longer than its TTL.
func TestCrashedHolderThenKeepalive(t *testing.T) {
	t.Parallel()
	var stdout timedLines
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-ttl", strconv.Itoa(ttl), "-work", "3500ms"}, &stdout, &stderr)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	t.Logf("stdout:\n%s", out)

	holderLocked := stdout.when(t, regexp.MustCompile(`^\[holder pid \d+\] \S+ \S+ locked\.\.\.$`))
	waiterLocking := stdout.when(t, regexp.MustCompile(`^\S+ \S+ locking\.\.\.$`))
	killedLine := regexp.MustCompile(`^\[holder pid (\d+)\] killed \((.*)\)`)
	killed := stdout.when(t, killedLine)
	locked := stdout.when(t, regexp.MustCompile(`^\S+ \S+ locked\.\.\.$`))
	released := stdout.when(t, regexp.MustCompile(`^\S+ \S+ released\.\.\.$`))
	assert.True(t, holderLocked.Before(waiterLocking) && waiterLocking.Before(killed) &&
		killed.Before(locked) && locked.Before(released), "order of events:\n%s", out)

	// The holder really died of SIGKILL, and was reaped: no zombie left with its pid.
	m := killedLine.FindStringSubmatch(stdout.line(t, killedLine))
	assert.Equal(t, "signal: killed", m[2])
	pid, _ := strconv.Atoi(m[1])
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "holder pid %d still exists", pid)

	// The wait, measured here from the moment the kill was reported: the last
	// keepalive can precede the kill by TTL/3, and etcd's lessor checks expiry
	// every 500 ms, and under -race everything is slower.
	wait := locked.Sub(killed)
	assert.GreaterOrEqual(t, wait, ttl*time.Second*2/3, "got the lock before the dead holder's lease could expire")
	assert.LessOrEqual(t, wait, ttl*time.Second+1500*time.Millisecond, "waited far longer than the TTL")
	printed := regexp.MustCompile(`(?m)^waited (\d+\.\d)s after the kill`).FindStringSubmatch(out)
	require.NotNil(t, printed, "no 'waited N.Ns' line")
	secs, _ := strconv.ParseFloat(printed[1], 64)
	assert.InDelta(t, wait.Seconds(), secs, 0.3, "printed wait vs measured")

	// Keepalive: every probe failed with ErrLocked's message, and the last ones
	// came after the TTL had passed; run would have failed had the session been lost.
	probes := stdout.all(regexp.MustCompile(`^probe \d+, .*: another session's TryLock: (.*)$`))
	require.GreaterOrEqual(t, len(probes), 2, out) // a tick is dropped if a probe is slow
	for _, p := range probes {
		assert.Contains(t, p.text, "mutex: Locked by another session")
	}
	assert.Greater(t, probes[len(probes)-1].at.Sub(locked), ttl*time.Second, "no probe after the TTL had passed")

	assert.True(t, strings.HasSuffix(out, "\ncount: 1\n"), "last line:\n%s", out)
	assert.Contains(t, stderr.String(), "owner of /my-test-lock: lease ", "countdown")
	assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
}

// The article's two windows, with -plain against one shared etcd: Ctrl-C kills
// the first where it stands (no Unlock), so the second still waits for the lease.
func TestPlainCtrlCKeepsTheLockUntilTheLeaseExpires(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	ctx := context.Background()
	plain := []string{"-plain", "-endpoints", strings.Join(etcd.Endpoints, ","), "-ttl", strconv.Itoa(ttl)}

	first, err := workshop.StartChild(ctx, append(plain, "-work", "1h")...)
	require.NoError(t, err)
	defer first.Kill()
	_, err = first.WaitFor("locked...", nil, 30*time.Second)
	require.NoError(t, err)
	second, err := workshop.StartChild(ctx, append(plain, "-work", "0s")...)
	require.NoError(t, err)
	defer second.Kill()
	_, err = second.WaitFor("locking...", nil, 30*time.Second)
	require.NoError(t, err)

	interrupted := time.Now()
	require.NoError(t, first.Signal(syscall.SIGINT))
	exited := make(chan struct{})
	go func() { first.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("-plain ignored Ctrl-C (SIGINT)")
	}
	// A clean shutdown would exit 1 with "context canceled".
	assert.Equal(t, "signal: interrupt", first.State().String(), "Ctrl-C must kill -plain, not shut it down cleanly")

	_, err = second.WaitFor("locked...", nil, 30*time.Second)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(interrupted), ttl*time.Second*2/3, "the lock was free before the lease could expire")
	_, err = second.WaitFor("released...", nil, 30*time.Second)
	require.NoError(t, err)
	assert.NoError(t, second.Wait())
}

// -plain alone would start a private etcd that no second terminal could share.
func TestPlainNeedsEndpoints(t *testing.T) {
	t.Setenv(workshop.EndpointsEnv, "")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-plain"}, &bytes.Buffer{}, &stderr)
	var usage *workshop.UsageError
	require.True(t, errors.As(err, &usage), "want a usage error, got %v", err)
	assert.Contains(t, stderr.String(), "-plain needs -endpoints")
	assert.Contains(t, stderr.String(), "Usage of 04-timeout")

	out, status := workshoptest.Exit(t, "-plain")
	assert.Equal(t, 2, status, out)
	assert.Contains(t, out, "-plain needs -endpoints")
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-ttl", "soon"}, Status: 2, Says: "Usage of 04-timeout"},
		workshoptest.ExitCase{Name: "ttl below 1", Args: []string{"-ttl", "0"}, Status: 2, Says: "-ttl must be at least 1"},
		workshoptest.Unreachable(t),
	)
}

// timedLines is a stdout that notes when each line arrived, so the test
// measures the waits itself instead of trusting what the program prints.
type timedLines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial string
	lines   []timedLine
}

type timedLine struct {
	text string
	at   time.Time
}

func (w *timedLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.buf.Write(p)
	w.partial += string(p)
	for {
		i := strings.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, timedLine{w.partial[:i], now})
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *timedLines) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// all returns the lines matching re, with when they were written.
func (w *timedLines) all(re *regexp.Regexp) []timedLine {
	w.mu.Lock()
	defer w.mu.Unlock()
	var found []timedLine
	for _, l := range w.lines {
		if re.MatchString(l.text) {
			found = append(found, l)
		}
	}
	return found
}

// line returns the one line matching re.
func (w *timedLines) line(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	found := w.all(re)
	require.Len(t, found, 1, "lines matching %s in:\n%s", re, w.String())
	return found[0].text
}

// when returns when the one line matching re was written.
func (w *timedLines) when(t *testing.T, re *regexp.Regexp) time.Time {
	t.Helper()
	found := w.all(re)
	require.Len(t, found, 1, "lines matching %s in:\n%s", re, w.String())
	return found[0].at
}
