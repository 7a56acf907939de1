package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/testmain"
	"etcd-lock-workshop/internal/workshoptest"
)

// The test binary plays the etcd command when a test starts it again
// (proc.Command), as `go run ./etcd` would run.
func TestMain(m *testing.M) {
	if proc.Role() != "" {
		main()
		os.Exit(0)
	}
	// A learner's ETCD_* variables would reach etcd in every test: the
	// tests set what they test.
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "ETCD_") {
			os.Unsetenv(name)
		}
	}
	testmain.Run(m)
}

// freePorts lets etcd pick its ports, as `go run ./etcd` uses 2379 and 2380:
// the serving line says which client port it got.
var freePorts = []string{
	"--listen-client-urls", "http://127.0.0.1:0", "--advertise-client-urls", "http://127.0.0.1:0",
	"--listen-peer-urls", "http://127.0.0.1:0", "--initial-advertise-peer-urls", "http://127.0.0.1:0",
	"--initial-cluster", "default=http://127.0.0.1:0",
}

// A port that is taken is said in one line with what to do, and never after
// "serving": the old go run ./etcd asked /health on 2379, found the compose
// cluster there, and said it was serving while it failed.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	// Something that answers /health like a healthy etcd holds the port.
	impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"health":"true","reason":""}`)
	}))
	t.Cleanup(impostor.Close)
	port := impostor.Listener.Addr().(*net.TCPAddr).Port
	taken := fmt.Sprintf("http://127.0.0.1:%d", port)

	for name, args := range map[string][]string{
		"client port": {"--listen-client-urls", taken, "--advertise-client-urls", taken,
			"--listen-peer-urls", "http://127.0.0.1:0", "--initial-advertise-peer-urls", "http://127.0.0.1:0",
			"--initial-cluster", "default=http://127.0.0.1:0"},
		"peer port": {"--listen-client-urls", "http://127.0.0.1:0", "--advertise-client-urls", "http://127.0.0.1:0",
			"--listen-peer-urls", taken, "--initial-advertise-peer-urls", taken, "--initial-cluster", "default=" + taken},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			etcd := startEtcd(t, t.TempDir(), nil, args...)
			assert.Equal(t, 1, etcd.wait(t))
			assert.Equal(t, fmt.Sprintf("etcd: port %d is in use: is another etcd running (go run ./etcd in another terminal)?\n", port), etcd.output())
			assert.NoDirExists(t, filepath.Join(etcd.dir, "default.etcd"), "nothing made before it failed")
		})
	}
}

// Two go run ./etcd at once: the second fails on the port, in one line, and
// each keeps its own log; a later start removes the logs of ended runs only.
func TestTwoAtOnce(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	ended := exec.Command("true")
	require.NoError(t, ended.Run())
	stale := filepath.Join(tmp, fmt.Sprintf("etcd-lock-workshop-etcd-pid%d.log", ended.Process.Pid))
	live := filepath.Join(tmp, fmt.Sprintf("etcd-lock-workshop-etcd-pid%d.log", os.Getpid()))
	for _, file := range []string{stale, live} {
		require.NoError(t, os.WriteFile(file, []byte("an earlier run\n"), 0o644))
	}

	first := startEtcd(t, tmp, nil, freePorts...)
	client := first.serving(t)
	assert.NoFileExists(t, stale, "the log of a run that ended")
	assert.FileExists(t, live, "the log of a running etcd")

	second := startEtcd(t, tmp, nil, "--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", "http://127.0.0.1:0", "--initial-advertise-peer-urls", "http://127.0.0.1:0",
		"--initial-cluster", "default=http://127.0.0.1:0")
	assert.Equal(t, 1, second.wait(t))
	_, port, _ := strings.Cut(strings.TrimPrefix(client, "http://"), ":")
	assert.Equal(t, "etcd: port "+port+" is in use: is another etcd running (go run ./etcd in another terminal)?\n", second.output())

	assert.NotEqual(t, first.log(), second.log())
	firstLog, err := os.ReadFile(first.log())
	require.NoError(t, err)
	assert.NotContains(t, string(firstLog), "address already in use", "the second etcd's failure is not in the first one's log")
	secondLog, err := os.ReadFile(second.log())
	require.NoError(t, err)
	assert.Contains(t, string(secondLog), "address already in use")

	out, status := command(t, "health", client)
	assert.Equal(t, 0, status, "the first etcd still serves: %s", out)
}

// etcd's own answer to a bad flag reaches the terminal as it is.
func TestBadFlag(t *testing.T) {
	t.Parallel()
	etcd := startEtcd(t, t.TempDir(), nil, "--no-such-flag")
	assert.Equal(t, 2, etcd.wait(t))
	assert.True(t, strings.HasPrefix(etcd.output(), "flag provided but not defined: -no-such-flag\n"), etcd.output())
	assert.NotContains(t, etcd.output(), "serving")
}

// go run ./etcd health says in one line whether a URL is a healthy etcd,
// within a bound, whatever answers there.
func TestHealth(t *testing.T) {
	t.Parallel()
	serve := func(status int, contentType, body string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	page := "<!DOCTYPE html>\n<html>\n" + strings.Repeat("<p>not etcd</p>\n", 500) + "</html>\n"
	for _, c := range []struct {
		name, endpoint string
		status         int
		says           string
	}{
		{"healthy", serve(200, "application/json", `{"health":"true","reason":""}`), 0, "healthy"},
		{"no leader", serve(503, "application/json", `{"health":"false","reason":"RAFT NO LEADER"}`), 1, "unhealthy: RAFT NO LEADER"},
		{"a web page", serve(404, "text/html; charset=utf-8", page), 1, "not an etcd: /health answered 404 Not Found (text/html), not etcd's health JSON"},
		{"no answer", workshoptest.Blackhole(t), 1, "unhealthy: no answer within 2s"},
		{"nobody", "http://127.0.0.1:1", 1, "unhealthy: dial tcp 127.0.0.1:1: connect: connection refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			start := time.Now()
			assert.Equal(t, c.status, health([]string{c.endpoint + "/"}, &out, &out))
			assert.Equal(t, c.endpoint+": "+c.says+"\n", out.String())
			assert.Less(t, time.Since(start), 10*time.Second, "must not hang")
		})
	}
}

// health -h is a question, answered on stdout; a flag it does not know, a
// second argument or what is not a client URL is a mistake: the reason, the
// usage, exit status 2, before any request.
func TestHealthUsage(t *testing.T) {
	t.Parallel()
	const usage = "usage: go run ./etcd health [client URL]   (default http://127.0.0.1:2379)\n"
	for _, c := range []struct {
		args   []string
		status int
		says   string // on stderr, before the usage
	}{
		{[]string{"-h"}, 0, ""},
		{[]string{"--help"}, 0, ""},
		{[]string{"-bogus"}, 2, "flag provided but not defined: -bogus\n"},
		{[]string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, 2, `unexpected argument "http://127.0.0.1:2": one client URL at most` + "\n"},
		{[]string{"not a url"}, 2, `"not a url" is not a URL such as http://127.0.0.1:2379` + "\n"},
		{[]string{"127.0.0.1:2379"}, 2, `"127.0.0.1:2379" is not a URL such as http://127.0.0.1:2379` + "\n"},
		{[]string{"http://127.0.0.1"}, 2, `"http://127.0.0.1" is not a URL such as http://127.0.0.1:2379` + "\n"},
		{[]string{"ftp://127.0.0.1:2379"}, 2, `"ftp://127.0.0.1:2379": not http:// or https://` + "\n"},
		{[]string{"http://127.0.0.1:99999"}, 2, `"http://127.0.0.1:99999": port 99999 is not a number from 1 to 65535` + "\n"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, c.status, health(c.args, &stdout, &stderr), c.args)
		if c.status == 0 {
			assert.Equal(t, usage, stdout.String(), c.args)
			assert.Empty(t, stderr.String(), c.args)
		} else {
			assert.Empty(t, stdout.String(), c.args)
			assert.Equal(t, c.says+usage, stderr.String(), c.args)
		}
	}
}

// A command line that etcd would refuse, or take and then fail on, is said
// in one line with the usage, and exit status 2, before etcd makes anything:
// a word that is no command, a flag etcd refuses, a port out of range
// (which etcd found only when it listened, and never in a URL it only
// advertises).
func TestBadCommandLine(t *testing.T) {
	t.Parallel()
	const usage = `usage: go run ./etcd [etcd's flags]   (go run ./etcd --help lists them)
       go run ./etcd health [client URL]   (default http://127.0.0.1:2379)
       go run ./etcd gateway|grpc-proxy ...   (etcd's own commands)
`
	outOfRange := "etcd: %s: port \"99999\" is not a number from 0 to 65535\n"
	for _, c := range []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"unknown command", nil, []string{"healthz"},
			"etcd: unknown command \"healthz\": the commands are health, gateway and grpc-proxy\n"},
		{"a word after a flag", nil, append([]string{"--name", "solo", "healthz"}, freePorts...),
			"etcd: \"healthz\" is not a valid flag\n"},
		{"flags that go together", nil, []string{"--listen-client-urls", "http://127.0.0.1:0"},
			"etcd: --advertise-client-urls is required when --listen-client-urls is set explicitly\n"},
		{"listen port", nil, withURL("--listen-client-urls", "http://127.0.0.1:99999"),
			fmt.Sprintf(outOfRange, "--listen-client-urls")},
		{"advertised port", nil, withURL("--advertise-client-urls", "http://127.0.0.1:99999"),
			fmt.Sprintf(outOfRange, "--advertise-client-urls")},
		{"peer port, -flag=value", nil, append(withURL("--listen-peer-urls", ""), "-listen-peer-urls=http://127.0.0.1:99999"),
			fmt.Sprintf(outOfRange, "--listen-peer-urls")},
		{"initial cluster", nil, withURL("--initial-cluster", "default=http://127.0.0.1:0,other=http://127.0.0.1:99999"),
			fmt.Sprintf(outOfRange, "--initial-cluster")},
		{"etcd's variable", []string{"ETCD_LISTEN_METRICS_URLS=http://127.0.0.1:99999"}, freePorts,
			fmt.Sprintf(outOfRange, "ETCD_LISTEN_METRICS_URLS")},
		{"a log level etcd does not know", nil, append([]string{"--log-level", "bogus"}, freePorts...),
			"etcd: --log-level: \"bogus\" is not a level: debug, info, warn, error, panic, fatal\n"},
		{"with etcd's log asked for", nil, append(withURL("--advertise-client-urls", "http://127.0.0.1:99999"), "--log-level", "info"),
			fmt.Sprintf(outOfRange, "--advertise-client-urls")},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			etcd := startEtcd(t, t.TempDir(), c.env, c.args...)
			assert.Equal(t, 2, etcd.wait(t), etcd.output())
			assert.Equal(t, c.says+usage, etcd.output())
			assertFits(t, etcd.output())
			assert.NoDirExists(t, filepath.Join(etcd.dir, "default.etcd"), "nothing made")
		})
	}
}

// withURL is freePorts with flag's URLs replaced by value; "" leaves the flag out.
func withURL(flag, value string) []string {
	var args []string
	for i := 0; i < len(freePorts); i += 2 {
		switch {
		case freePorts[i] != flag:
			args = append(args, freePorts[i], freePorts[i+1])
		case value != "":
			args = append(args, flag, value)
		}
	}
	return args
}

// assertFits: no line is wider than a projector.
func assertFits(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(line), cli.Columns, "too wide: %q", line)
	}
}

// A flag etcd does not know: etcd's flag package says so with its usage,
// exit 2, and no log is kept (it holds nothing the terminal did not show);
// nor for --version.
func TestUnknownFlagLeavesNoLog(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--bogus"}, {"--version"}} {
		tmp := t.TempDir()
		etcd := startEtcd(t, tmp, nil, args...)
		status := etcd.wait(t)
		if args[0] == "--bogus" {
			assert.Equal(t, 2, status, etcd.output())
			assert.Contains(t, etcd.output(), "flag provided but not defined: -bogus")
			assert.NotContains(t, etcd.output(), "exited with status")
		}
		left, _ := filepath.Glob(filepath.Join(tmp, "*.log"))
		assert.Empty(t, left, "%v: a log kept", args)
	}
}

// etcd's own reason for a failed start, with the path it names, fits a
// projector: the log's path on a line of its own, the rest wrapped.
func TestFailedStartFits(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "passwd")
	require.NoError(t, os.WriteFile(file, []byte("not a directory\n"), 0o644))
	etcd := startEtcd(t, t.TempDir(), nil, append([]string{"--data-dir", file}, freePorts...)...)
	assert.Equal(t, 1, etcd.wait(t))
	assertFits(t, etcd.output())
	f, err := os.Open(file) // as etcd lists it: "readdirent" on Linux, "fdopendir" on macOS
	require.NoError(t, err)
	_, readErr := f.Readdirnames(-1)
	f.Close()
	said := "etcd: failed to list data directory: " + readErr.Error() + ", its log:"
	assert.Equal(t, strings.Fields(said), strings.Fields(strings.TrimSuffix(etcd.output(), etcd.log()+"\n")), etcd.output())
	assert.True(t, strings.HasSuffix(etcd.output(), ":\n    "+etcd.log()+"\n"), "the log's path on a line of its own:\n%s", etcd.output())
}

func TestLogConfigured(t *testing.T) {
	assert.False(t, logConfigured(nil))
	assert.False(t, logConfigured([]string{"--name", "solo"}))
	assert.True(t, logConfigured([]string{"--log-outputs", "stderr"}))
	assert.True(t, logConfigured([]string{"-log-level=debug"}))
	assert.True(t, logConfigured([]string{"grpc-proxy", "start"}), "no --log-outputs there")
	t.Setenv("ETCD_LOG_OUTPUTS", "stderr")
	assert.True(t, logConfigured(nil))
}

// command runs this test binary as the etcd command with args, and returns
// its combined output and exit status.
func command(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return workshoptest.Exit(t, args...)
}

// etcdRun is `go run ./etcd ARGS` as a learner starts it: this test binary
// playing the command, in a folder of its own (for ./default.etcd) and with a
// TMPDIR of the test's (for its log).
type etcdRun struct {
	cmd     *exec.Cmd
	dir     string
	tmp     string
	out     lines
	exited  chan struct{} // closed once the process has exited and been reaped
	waitErr error
}

func startEtcd(t *testing.T, tmp string, env []string, args ...string) *etcdRun {
	t.Helper()
	cmd, err := proc.Command(context.Background(), args...)
	require.NoError(t, err)
	e := &etcdRun{cmd: cmd, dir: t.TempDir(), tmp: tmp, exited: make(chan struct{})}
	e.out.serving = make(chan string, 1)
	cmd.Dir = e.dir
	cmd.Env = append(append(cmd.Env, "TMPDIR="+tmp), env...)
	cmd.Stdout, cmd.Stderr = &e.out, &e.out
	require.NoError(t, cmd.Start())
	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // the command; etcd, its child, dies with it
		<-e.exited
	})
	return e
}

// serving waits for the line that says etcd serves, and returns its URL.
func (e *etcdRun) serving(t *testing.T) string {
	t.Helper()
	select {
	case url := <-e.out.serving:
		return url
	case <-e.exited:
		t.Fatalf("etcd exited (%v) before serving:\n%s", e.waitErr, e.output())
	case <-time.After(60 * time.Second): // etcd starts in about a second; -race and busy cores are slower
		t.Fatalf("etcd did not say it serves within 60s:\n%s", e.output())
	}
	return ""
}

// wait returns the exit status once the command has ended.
func (e *etcdRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-e.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("etcd still running after 60s:\n%s", e.output())
	}
	var exit *exec.ExitError
	if errors.As(e.waitErr, &exit) {
		return exit.ExitCode()
	}
	require.NoError(t, e.waitErr)
	return 0
}

func (e *etcdRun) output() string { return e.out.String() }

// log is the file the command named for etcd's log.
func (e *etcdRun) log() string {
	return filepath.Join(e.tmp, "etcd-lock-workshop-etcd-pid"+strconv.Itoa(e.cmd.Process.Pid)+".log")
}

// lines is the command's output, stdout and stderr as they interleave; the
// serving line's URL is sent on serving.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	serving chan string
	sent    bool
}

var servingLine = regexp.MustCompile(`(?m)^etcd: serving clients at (\S+),`)

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := servingLine.FindStringSubmatch(l.buf.String()); m != nil && !l.sent {
		l.serving <- m[1] // buffered: never blocks
		l.sent = true
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Port 2379 is also the compose cluster's: the message says how to stop it.
// grpc's own log lines stay in the log file.
func TestWhatTheTerminalGets(t *testing.T) {
	e := logEntry{Level: "fatal", Msg: "listener failed", Error: "listen tcp 127.0.0.1:2379: bind: address already in use"}
	assert.Equal(t, "port 2379 is in use: is another etcd or the compose cluster running? "+
		"(go run ./etcd/cluster down stops the cluster)", explain(e, "log"))
	var terminal bytes.Buffer
	seen := seenInLog{ignored: map[string]bool{}}
	seen.note("2026/11/25 19:26:14 WARNING: [core] [Server #2] grpc: Server.processUnaryRPC failed to write status: transport is closing\n", &terminal, "log")
	assert.Empty(t, terminal.String())
	seen.note("etcd: unknown flag --nope\n", &terminal, "log")
	assert.Equal(t, "etcd: unknown flag --nope\n", terminal.String(), "etcd's own words still reach the terminal")
}
