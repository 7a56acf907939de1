package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run)
}

const ttl = 2 // seconds; the embedded etcd keeps leases of 1 s and up as asked

// The whole lesson in one run: the killed holder's lock is free only once its
// lease has expired; then the survivor keeps the lock through work longer than its TTL.
func TestCrashedHolderThenKeepalive(t *testing.T) {
	t.Parallel()
	var stdout timedLines
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-ttl", strconv.Itoa(ttl), "-work", "5s"}, &stdout, &stderr)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	t.Logf("stdout:\n%s", out)

	holderLocked := stdout.when(t, regexp.MustCompile(`^\[holder pid \d+\] locked\.\.\. \S+ \S+$`))
	waiterLocking := stdout.when(t, regexp.MustCompile(`^locking\.\.\. \S+ \S+$`))
	killedLine := regexp.MustCompile(`^\[holder pid (\d+)\] killed \((.*)\)`)
	killed := stdout.when(t, killedLine)
	locked := stdout.when(t, regexp.MustCompile(`^locked\.\.\. \S+ \S+$`))
	released := stdout.when(t, regexp.MustCompile(`^released\.\.\. \S+ \S+$`))
	assert.True(t, holderLocked.Before(waiterLocking) && waiterLocking.Before(killed) &&
		killed.Before(locked) && locked.Before(released), "order of events:\n%s", out)

	// The holder really died of SIGKILL, and was reaped: no zombie left with its pid.
	m := killedLine.FindStringSubmatch(stdout.line(t, killedLine))
	assert.Equal(t, "signal: killed", m[2])
	pid, _ := strconv.Atoi(m[1])
	assert.False(t, cli.Alive(pid), "holder pid %d still exists", pid)

	// The wait, measured here from the moment the kill was reported. In theory
	// at least 2/3 TTL (the last renewal is at most TTL/3 old); a holder whose
	// renewal came late on a busy machine makes it a little shorter. A lock
	// handed over at the kill would take milliseconds. The upper bound only
	// says that nothing else freed it, much later.
	wait := locked.Sub(killed)
	assert.GreaterOrEqual(t, wait, ttl*time.Second/2, "got the lock before the dead holder's lease could expire")
	assert.Less(t, wait, ttl*time.Second+10*time.Second, "waited far longer than the TTL")
	printed := regexp.MustCompile(`(?m)^waited (\d+\.\d)s after the kill`).FindStringSubmatch(out)
	require.NotNil(t, printed, "no 'waited N.Ns' line")
	secs, _ := strconv.ParseFloat(printed[1], 64)
	assert.InDelta(t, wait.Seconds(), secs, 1, "printed wait vs measured")

	// Keepalive: the probes found the lock still ours, also after the TTL had
	// passed; run would have failed had the session lost its lease.
	probes := stdout.all(regexp.MustCompile(`^probe \d+, .* into the work: /my-test-lock is still ours, its lease has under \d+s left$`))
	require.NotEmpty(t, probes, out)
	assert.Greater(t, probes[len(probes)-1].at.Sub(locked), ttl*time.Second, "no probe after the TTL had passed:\n%s", out)

	assert.Regexp(t, `\nreleased\.\.\. \S+ \S+\ncount: 1\n$`, out, "the last lines")
	assert.Contains(t, stderr.String(), "the dead holder: lease ", "countdown")
	assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
}

// Stopped while the holder is still starting (go run ./04-timeout | head -1),
// the program must not leave the holder's lease and key in a shared etcd:
// the next run would wait a whole TTL for a lock nobody holds.
func TestStoppedDuringStartUpLeavesNothing(t *testing.T) {
	t.Parallel()
	shared := workshoptest.Etcd(t)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd, err := proc.Command(ctx, "-endpoints", strings.Join(shared.Endpoints, ","), "-ttl", "60", "-work", "1s")
		require.NoError(t, err)
		var stderr workshoptest.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(stdout).ReadString('\n') // the holder's "locking..."
		require.NoError(t, err, "stderr:\n%s", stderr.String())
		stdout.Close() // head -1 has what it wanted and goes: the next write fails
		err = cmd.Wait()
		cancel()
		assert.Equal(t, 141, cmd.ProcessState.ExitCode(), "after %q: %v; stderr:\n%s", line, err, stderr.String())
		assert.Empty(t, workshoptest.Leases(t, shared), "leases left in the shared etcd")
		assert.Empty(t, workshoptest.Keys(t, shared, "/my-test-lock/"), "keys left under /my-test-lock")
	}
}

// -plain alone would start a private etcd that no second window could share.
func TestPlainNeedsEndpoints(t *testing.T) {
	t.Setenv(workshop.EndpointsEnv, "")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-plain"}, &bytes.Buffer{}, &stderr)
	var usage *cli.UsageError
	require.ErrorAs(t, err, &usage)
	assert.Contains(t, stderr.String(), "-plain needs -endpoints")
	assert.Contains(t, stderr.String(), "Usage of 04-timeout")
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-ttl", "soon"}, Status: 2, Says: "Usage of 04-timeout"},
		workshoptest.ExitCase{Name: "ttl 0", Args: []string{"-ttl", "0"}, Status: 2, Says: `invalid value "0" for flag -ttl: must be 1 to 600`},
		workshoptest.ExitCase{Name: "ttl of 285 years", Args: []string{"-ttl", "9000000000"}, Status: 2, Says: "must be 1 to 600"},
		workshoptest.ExitCase{Name: "negative work", Args: []string{"-work", "-5s"}, Status: 2, Says: `invalid value "-5s" for flag -work`},
		workshoptest.ExitCase{Name: "plain without etcd", Args: []string{"-plain"}, Status: 2, Says: "-plain needs -endpoints"},
		workshoptest.Unreachable(t),
	)
}

// In a shared etcd someone else may hold the lock already: one line says so,
// and no holder is started.
func TestLockHeldByAnotherProgram(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	other := workshoptest.HoldLock(t, etcd, "/my-test-lock")

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-endpoints", etcd.Endpoints[0]}, &stdout, &stderr)
	require.Error(t, err)
	assert.Equal(t, fmt.Sprintf("/my-test-lock is held by another program (key %s): wait until it is free, or use another etcd", other.Key()), err.Error())
	assert.Empty(t, stdout.String(), "no holder started")
}

// The README's output blocks, from real runs.
func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run,
		// A lease id is 16 hex digits, or fewer when it starts with a zero.
		workshoptest.R(`lease [0-9a-f]{1,16}\b`, "lease <lease>"))
}

// The article's program alone, with nobody else on the lock: it locks at
// once, works, counts and releases. (Timestamps dropped: they vary.)
func Example() {
	etcd, err := workshop.Connect(context.Background(), &workshop.Flags{DialTimeout: 10 * time.Second}, &bytes.Buffer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer etcd.Close()
	var out bytes.Buffer
	if err := lockWorkUnlock(context.Background(), etcd, ttl, 0, &out); err != nil {
		fmt.Println(err)
	}
	fmt.Print(regexp.MustCompile(` \d{4}-\d\d-\d\d \d\d:\d\d:\d\d`).ReplaceAllString(out.String(), ""))
	// Output:
	// locking...
	// locked...
	// released...
	// count: 1
}
