//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/browsertest"
)

// BenchmarkRoom is a room on this machine: N learners (processes of 03), M
// sessions each, all on the room's /my-test-lock at once, while the view
// (go run ./etcd/view, a process of its own, as root) is open in headless
// Chromium. It reports the room's acquisitions per second, the view's
// latency from etcd applying a change to the page's DOM showing it (a probe
// key put every 50 ms; the browser's and this process's clocks are one
// clock), and the view process's memory (VmHWM, Linux).
//
//	go test ./etcd/room -run NONE -bench Room -benchtime 1x
func BenchmarkRoom(b *testing.B) {
	dir := buildPrograms(b, "etcd/room", "etcd/view", "03-etcd-lock")
	for _, room := range []struct{ learners, sessions int }{{1, 100}, {5, 100}, {20, 10}, {20, 100}} {
		b.Run(fmt.Sprintf("learners=%d/sessions=%d", room.learners, room.sessions), func(b *testing.B) {
			for b.Loop() {
				benchmarkRoom(b, dir, room.learners, room.sessions)
			}
		})
	}
}

func benchmarkRoom(b *testing.B, dir string, learners, sessions int) {
	args, rootPassword := roomProcess(b, dir)
	endpoint := args[1]
	view, url := viewProcess(b, dir, endpoint, rootPassword)
	tab := browsertest.Tab(b)
	require.NoError(b, chromedp.Do(tab, chromedp.Navigate(url)))
	_, err := chromedp.Run(tab, chromedp.Evaluate[bool](seenProbes))
	require.NoError(b, err)

	probe, err := connect(b, args...)
	require.NoError(b, err)
	defer probe.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var put []float64 // when each probe's Put returned (applied), Unix ms
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		for i := 0; ctx.Err() == nil; i++ {
			rctx, rcancel := probe.WithTimeout(ctx)
			_, err := probe.Client.Put(rctx, "/my-test-counter", strconv.Itoa(i))
			rcancel()
			if err != nil {
				return
			}
			put = append(put, float64(time.Now().UnixMicro())/1000)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	for i := range learners {
		wg.Go(func() {
			out, err := exec.Command(filepath.Join(dir, "03-etcd-lock"), append(args, "-name", fmt.Sprintf("learner-%02d", i),
				"-goroutines", strconv.Itoa(sessions), "-timeout", "5m", "-dial-timeout", "30s")...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), fmt.Sprintf("count: %d\n", sessions)) {
				b.Errorf("learner %d: %v: %s", i, err, out)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond) // the last probes reach the page
	cancel()
	<-probed

	seen, err := chromedp.Run(tab, chromedp.Evaluate[map[string]float64](`window.seenProbes`))
	require.NoError(b, err)
	var latencies []float64
	for i, at := range put {
		if shown, ok := seen[strconv.Itoa(i)]; ok {
			latencies = append(latencies, shown-at)
		}
	}
	require.NotEmpty(b, latencies, "no probe reached the page")
	slices.Sort(latencies)
	b.ReportMetric(float64(learners*sessions)/elapsed.Seconds(), "acquisitions/s")
	b.ReportMetric(latencies[len(latencies)/2], "view-p50-ms")
	b.ReportMetric(latencies[len(latencies)*99/100], "view-p99-ms")
	b.ReportMetric(float64(len(put)-len(latencies)), "probes-unseen")
	if kb, err := peakMemoryKB(view.Process.Pid); err == nil {
		b.ReportMetric(float64(kb)/1024, "view-MiB")
	}
}

// seenProbes records when the page first shows each value of the probe key.
const seenProbes = `window.seenProbes = {};
new MutationObserver(() => {
  for (const td of document.querySelectorAll('#values td.key')) {
    if (td.textContent !== '/my-test-counter') continue;
    const v = td.nextSibling.textContent;
    if (!(v in window.seenProbes)) window.seenProbes[v] = performance.timeOrigin + performance.now();
  }
}).observe(document.getElementById('values'), {childList: true, subtree: true, characterData: true});
true;`

// viewProcess runs dir's view of endpoint as root, stopped at cleanup.
func viewProcess(b *testing.B, dir, endpoint, rootPassword string) (*exec.Cmd, string) {
	cmd := exec.Command(filepath.Join(dir, "view"), "-endpoints", endpoint, "-user", "root:"+rootPassword, "-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n') // one Read may hold part of the line
	require.NoError(b, err, "the view: %s", &stderr)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "view: ")
	require.True(b, ok, line)
	return cmd, url
}

// peakMemoryKB is a process's peak resident memory, from Linux's /proc.
func peakMemoryKB(pid int) (int, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
