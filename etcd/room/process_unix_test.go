//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

// buildPrograms builds the module's packages into a temp dir, without
// -race: a room of learners is real programs, at their real speed (etcd
// checks each learner's password with bcrypt, which -race slows tenfold).
func buildPrograms(t testing.TB, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, pkg := range pkgs {
		out, err := exec.Command("go", "build", "-o", dir, "etcd-lock-workshop/"+pkg).CombinedOutput()
		require.NoError(t, err, "go build %s: %s", pkg, out)
	}
	return dir
}

// roomProcess runs dir's room on loopback, as a process stopped by Ctrl-C at
// cleanup, and returns the learners' arguments and root's password.
func roomProcess(t testing.TB, dir string) (args []string, rootPassword string) {
	t.Helper()
	room := exec.Command(filepath.Join(dir, "room"), "-listen", "127.0.0.1:0", "-view", "127.0.0.1:0")
	stdout, err := room.StdoutPipe()
	require.NoError(t, err)
	stderr, err := room.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, room.Start())
	stopped := make(chan error, 1)
	t.Cleanup(func() {
		room.Process.Signal(os.Interrupt)
		select {
		case err := <-stopped:
			var exit *exec.ExitError
			if assert.ErrorAs(t, err, &exit) {
				assert.Equal(t, 130, exit.ExitCode(), "the room after Ctrl-C: 128 + SIGINT, cleaned up")
			}
		case <-time.After(30 * time.Second):
			room.Process.Kill()
			t.Error("the room did not stop within 30 s of Ctrl-C")
		}
	})
	const rootSays = "root password (for your terminal only): "
	for lines := bufio.NewScanner(stderr); rootPassword == "" && lines.Scan(); {
		if password, ok := strings.CutPrefix(lines.Text(), rootSays); ok {
			rootPassword = password
		}
	}
	go io.Copy(io.Discard, stderr)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { io.Copy(io.Discard, stdout); stopped <- room.Wait() }() // Wait after the last read
	require.NoError(t, err)
	require.NotEmpty(t, rootPassword)
	command, ok := strings.CutPrefix(strings.TrimSpace(line), "learners run: go run ./03-etcd-lock ")
	require.True(t, ok, line)
	return strings.Fields(command), rootPassword
}

// Twenty learners at once, each a process of 03 with the printed line and a
// name of its own, 25 sessions each on the one /my-test-lock, against the
// room as a process too (built without -race: etcd checks each learner's
// password with bcrypt, which the race detector slows tenfold): every count
// is right, and nothing is left behind (a label goes only with its lease).
func TestTwentyLearners(t *testing.T) {
	t.Parallel()
	dir := buildPrograms(t, "etcd/room", "03-etcd-lock")
	args, _ := roomProcess(t, dir)

	// The lock's keys as etcd orders them: a key may go (its holder's Unlock)
	// only while it is first in the queue, when it holds the lock.
	watcher, err := connect(t, args...)
	require.NoError(t, err)
	defer watcher.Close()
	watchCtx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	events := watcher.Client.Watch(watchCtx, "/my-test-lock/", clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	<-events // created: every later change is seen
	const learners, sessions = 20, 25
	var inTurn, outOfTurn int // the keys deleted while first in the queue, and not
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		var queue []string // in create-revision order, which is watch order for creates
		for resp := range events {
			for _, ev := range resp.Events {
				key := string(ev.Kv.Key)
				if ev.Type == clientv3.EventTypePut {
					queue = append(queue, key)
					continue
				}
				if len(queue) > 0 && queue[0] == key {
					inTurn++
				} else {
					outOfTurn++
				}
				queue = slices.DeleteFunc(queue, func(k string) bool { return k == key })
			}
			if inTurn+outOfTurn == learners*sessions {
				return
			}
		}
	}()

	outputs := make([]string, learners)
	var wg sync.WaitGroup
	for i := range learners {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(dir, "03-etcd-lock"), append(args, "-name", fmt.Sprintf("learner-%02d", i),
				"-goroutines", strconv.Itoa(sessions), "-timeout", "90s", "-dial-timeout", "30s")...)
			out, err := cmd.CombinedOutput()
			outputs[i] = fmt.Sprintf("%s(%v)", out, err)
		})
	}
	wg.Wait()
	for i, out := range outputs {
		assert.Contains(t, out, fmt.Sprintf("count: %d\n(<nil>)", sessions), "learner %d", i)
	}
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
		t.Error("the watch did not see every key go")
	}
	stopWatching()
	<-drained
	assert.Equal(t, learners*sessions, inTurn, "sessions that held the lock in turn, one at a time")
	assert.Zero(t, outOfTurn, "keys deleted while another held the lock")
	etcd, err := connect(t, args...)
	require.NoError(t, err)
	defer etcd.Close()
	assert.Empty(t, workshoptest.Keys(t, etcd, "/my-test-lock/"), "lock keys left behind")
	assert.Empty(t, workshoptest.Keys(t, etcd, workshop.LabelPrefix), "leases left behind")
}
