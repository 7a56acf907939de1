package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/compose"
	"etcd-lock-workshop/internal/workshop"
)

// The compose file names the etcd that go.mod pins, through a variable with
// no default (see TestComposeNeedsUpFirst), and the cluster answers on
// loopback only.
func TestComposeFile(t *testing.T) {
	yml, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	assert.Contains(t, string(yml), "\n  image: ${"+compose.ImageEnv+":?go run ./etcd/cluster up builds it first}\n")
	assert.Equal(t, "etcd-lock-workshop/etcd:v"+version.Version, compose.Image)
	for i, port := range []string{"2379", "22379", "32379"} {
		assert.Contains(t, string(yml), fmt.Sprintf(`"127.0.0.1:%s:2379"`, port))
		assert.Contains(t, compose.Endpoints, "http://127.0.0.1:"+port)
		assert.Contains(t, string(yml), "ETCD_NAME="+compose.Members[i]+"\n")
	}
	dockerfile, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^FROM scratch$`, string(dockerfile), "no image is pulled")
	gitignore, err := os.ReadFile("../../.gitignore")
	require.NoError(t, err)
	assert.Contains(t, string(gitignore), "\n/.env\n", "up writes it")
}

// The article's docker-compose up -d, on a fresh clone (no .env, no image),
// stops before it creates anything and says in one line what to run; with
// the image named, as the .env that up writes names it, the file is whole.
// docker-compose config reads the file as up would, without an engine.
func TestComposeNeedsUpFirst(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("no docker-compose here")
	}
	dir := t.TempDir() // the compose file alone: no .env beside it
	yml, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), yml, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "etcd"), 0o755)) // the build context, as in a clone
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, compose.ImageEnv+"=") {
			env = append(env, kv)
		}
	}
	config := func(env []string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker-compose", "-p", "fresh", "config")
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := config(env)
	assert.Error(t, err)
	assert.Equal(t, `Missing mandatory value for "image" option interpolating ${WORKSHOP_ETCD_IMAGE:?go run ./etcd/cluster up builds it first} `+
		`in service "etcd1": go run ./etcd/cluster up builds it first`, strings.TrimSpace(out))

	out, err = config(append(env, compose.ImageEnv+"="+compose.Image))
	require.NoError(t, err, out)
	assert.Equal(t, 3, strings.Count(out, "image: "+compose.Image+"\n"), out)
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), nil, &stdout, &stderr)
	var usage *cli.UsageError
	assert.ErrorAs(t, err, &usage)
	assert.Contains(t, stderr.String(), "usage: go run ./etcd/cluster")
	assert.True(t, strings.HasPrefix(stderr.String(), "no command: up, down, or one of docker compose's\n"), "the reason first:\n%s", stderr.String())
}

// downTimeout bounds the test's down -v, which runs also when it failed.
const downTimeout = 2 * time.Minute

// The article's cluster for real: up from nothing (binary, image, members),
// chapter 03 against it, chapter 06 killing its containers, data kept in the
// volumes, and always down -v at the end.
func TestDockerCluster(t *testing.T) {
	info, cancelInfo := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelInfo()
	if out, err := exec.CommandContext(info, "docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine answers `docker info` (%v: %s): the compose cluster is not tested here",
			err, firstLine(out))
	}
	for _, port := range []string{"2379", "22379", "32379"} {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Skipf("port %s is taken (%v), and the compose file publishes fixed ports: "+
				"is the workshop's cluster up? go run ./etcd/cluster down", port, err)
		}
		l.Close()
	}
	t.Parallel()
	start := time.Now()
	// A first up compiles etcd for the image: 4 minutes here beside the other
	// packages' first builds. The test may take until go test's -timeout less
	// what down -v may need, so that a slow laptop fails it with the
	// containers removed rather than panics with them left running.
	end := start.Add(10 * time.Minute)
	if deadline, ok := t.Deadline(); ok {
		end = deadline.Add(-downTimeout - 30*time.Second)
	}
	if left := time.Until(end); left < time.Minute {
		t.Fatalf("go test's -timeout leaves %s for the Docker cluster and its down -v: give it 10m or more",
			left.Round(time.Second))
	}
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	project := fmt.Sprintf("etcd-lock-workshop-test-%d", os.Getpid())
	c, err := compose.New(project)
	require.NoError(t, err)
	t.Cleanup(func() { // also when the test fails or times out
		ctx, cancel := context.WithTimeout(context.Background(), downTimeout)
		defer cancel()
		began := time.Now()
		assert.NoError(t, c.Down(ctx), "down -v")
		t.Logf("down -v in %s", time.Since(began).Round(100*time.Millisecond))
		t.Logf("docker cluster test: %s in all", time.Since(start).Round(100*time.Millisecond))
	})

	// What up says on stderr, go test -v shows as it comes.
	var stdout bytes.Buffer
	require.NoError(t, run(ctx, []string{"-project", project, "up"}, &stdout, logWriter{t}))
	assert.Equal(t, "cluster up: -endpoints "+compose.Endpoints+"\n", stdout.String())
	t.Logf("up (binary, image, members healthy) in %s", time.Since(start).Round(100*time.Millisecond))
	env, err := os.ReadFile(filepath.Join(c.Dir, ".env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), compose.ImageEnv+"="+compose.Image+"\n", "for docker compose typed by hand")

	// After up, not beside it: on a first run both would compile etcd at once.
	t.Logf("building 03-etcd-lock and 06-failover")
	bin := t.TempDir()
	// One go build for both: their links run side by side.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin+string(filepath.Separator), "./03-etcd-lock", "./06-failover")
	build.Dir = c.Dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // with -trimpath, as etcd/bin/etcd: one build of etcd, cached
	built, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./03-etcd-lock ./06-failover: %s", built)

	began := time.Now()
	out, errOut, err := chapter(ctx, filepath.Join(bin, "03-etcd-lock"), "-endpoints", compose.Endpoints)
	t.Logf("03-etcd-lock in %s", time.Since(began).Round(100*time.Millisecond))
	require.NoError(t, err, errOut)
	assert.Equal(t, "count: 100\n", out)
	assert.Contains(t, errOut, "etcd: external etcd at "+compose.Endpoints)

	began = time.Now()
	// -sections 3: the crash is the lesson, not the count. The lock timeout
	// stays 2 s: with 1 s, about these members' election time, the workers'
	// pause measured about 8 s, against 0.8-1.7 s: a wait that fails during
	// the election makes etcd's Mutex.Lock delete its key with no deadline,
	// and 5 s after the crash all five workers were in that delete (a
	// goroutine dump), unanswered while etcd waited out its request timeout.
	sixArgs := []string{"-endpoints", compose.Endpoints, "-project", project, "-sections", "3"}
	out, errOut, err = chapter(ctx, filepath.Join(bin, "06-failover"), sixArgs...)
	require.NoError(t, err, "%s\n%s", out, errOut)
	t.Logf("06-failover against the containers in %s:\n%s", time.Since(began).Round(100*time.Millisecond), out)
	out, errOut = cli.Unwrap(out), cli.Unwrap(errOut) // 06 wraps its lines at 100 columns for the projector
	for _, want := range []string{
		`stopping the leader, etcd\d \(a crash: no hand-over\)`,
		`new leader etcd\d, seen \(by polling the members\) \d+\.\ds after the crash`,
		`workers stopped: count (\d+) = (\d+) critical sections, no update lost`,
		`stopping etcd\d too: 2 of 3 members down`,
		`lock attempt timed out after \d+\.\ds: no quorum \(no leader\) with 2 of 3 members down`,
		`restarted: 3 of 3 members up, leader etcd\d`,
	} {
		assert.Regexp(t, want, out)
	}
	m := regexp.MustCompile(`workers stopped: count (\d+) = (\d+) critical sections`).FindStringSubmatch(out)
	require.NotNil(t, m)
	assert.Equal(t, m[1], m[2], "count = successful critical sections")
	final := regexp.MustCompile(`(?m)^count: (\d+)$`).FindStringSubmatch(out)
	require.NotNil(t, final)
	assert.Contains(t, errOut, "are crashed with docker kill")
	cli, err := workshop.NewClient(ctx, strings.Split(compose.Endpoints, ","), 10*time.Second)
	require.NoError(t, err)
	defer cli.Close()
	assertLeftAsFound := func(what string) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		leases, err := cli.Leases(rctx)
		require.NoError(t, err)
		assert.Empty(t, leases.Leases, "%s: 06 revoked its leases", what)
		resp, err := cli.Get(rctx, "/my-test", clientv3.WithPrefix())
		require.NoError(t, err)
		assert.Empty(t, resp.Kvs, "%s: 06 left no key", what)
		assert.NoError(t, c.WaitHealthy(ctx, 30*time.Second, compose.Members...), "%s: every member up", what)
	}
	assertLeftAsFound("a run")

	// With a member down, 06 refuses to crash another and says which.
	require.NoError(t, c.Run(ctx, "stop", "-t", "2", "etcd3"))
	out, errOut, err = chapter(ctx, filepath.Join(bin, "06-failover"), sixArgs...)
	assert.Error(t, err)
	assert.Contains(t, errOut, "the cluster is not whole: etcd3 not answering")
	assert.Empty(t, out)
	require.NoError(t, c.Run(ctx, "start", "etcd3"))
	assertLeftAsFound("a cluster not whole")

	ctrlCWithTheLeaderDown(ctx, t, filepath.Join(bin, "06-failover"), sixArgs)
	assertLeftAsFound("Ctrl-C")

	// Named volumes: a key survives even new containers (down without -v,
	// then up), so surely a stop and a start. The second up is the article's
	// docker compose up -d as typed by hand: the image comes from .env.
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	_, err = cli.Put(pctx, "/docker-test/volume", final[1])
	require.NoError(t, err)
	began = time.Now()
	require.NoError(t, c.Run(ctx, "down", "-t", "2"))
	byHand := c.Command(ctx, "up", "-d")
	byHand.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, compose.ImageEnv+"=") })
	typed, err := byHand.CombinedOutput()
	require.NoError(t, err, "%s up -d, with .env: %s", byHand.Path, typed)
	require.NoError(t, c.WaitHealthy(ctx, 90*time.Second, compose.Members...))
	t.Logf("down and docker compose up -d again in %s", time.Since(began).Round(100*time.Millisecond))
	again, err := workshop.NewClient(ctx, strings.Split(compose.Endpoints, ","), 10*time.Second)
	require.NoError(t, err)
	defer again.Close()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	resp, err := again.Get(rctx, "/docker-test/volume")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "the key in new containers")
	assert.Equal(t, final[1], string(resp.Kvs[0].Value))
}

// chapter runs a chapter's binary and returns its stdout and stderr.
func chapter(ctx context.Context, bin string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		err = fmt.Errorf("%s: %v", filepath.Base(bin), err)
	}
	return stdout.String(), stderr.String(), err
}

// logWriter shows each line written to it in the test's log, as it comes.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
