package compose

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/version"
)

// These tests need no Docker: fake docker, docker-compose and go commands
// (shell scripts first in PATH) record how they were called.

func TestParsePlatform(t *testing.T) {
	goos, goarch, err := parsePlatform([]byte("linux/arm64\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"linux", "arm64"}, []string{goos, goarch})
	for _, bad := range []string{"", "linux", "/amd64", "linux/\n", "Error response from daemon: x/y z"} {
		_, _, err := parsePlatform([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestParseStates(t *testing.T) {
	states := parseStates([]byte("etcd1\tUp 3 seconds (healthy)\n" +
		"etcd2\tUp 1 second (health: starting)\n" +
		"etcd3\tExited (137) 2 seconds ago\n" +
		"etcd4\tUp 40 seconds (unhealthy)\n" +
		"etcd5\tCreated\n" +
		"etcd6\tRestarting (1) 1 second ago\n"))
	assert.Equal(t, map[string]string{"etcd1": "healthy", "etcd2": "starting", "etcd3": "exited",
		"etcd4": "unhealthy", "etcd5": "created", "etcd6": "restarting"}, states)
	assert.Empty(t, parseStates(nil))

	summary, all := summarize(states, []string{"etcd1", "etcd2", "etcd9"})
	assert.Equal(t, "etcd1 healthy, etcd2 starting, etcd9 no container", summary)
	assert.False(t, all)
	_, all = summarize(states, []string{"etcd1"})
	assert.True(t, all)
}

// New picks the docker compose plugin, else docker-compose, and says what is
// missing when there is neither.
func TestNewPicksTheComposeCommand(t *testing.T) {
	for _, c := range []struct {
		name  string
		tools map[string]string
		want  []string
		err   string
	}{
		{name: "plugin", tools: map[string]string{"docker": `[ "$1" = compose ] && exit 0`, "docker-compose": ""},
			want: []string{"docker", "compose"}},
		{name: "docker-compose", tools: map[string]string{"docker": `[ "$1" = compose ] && exit 1`, "docker-compose": ""},
			want: []string{"docker-compose"}},
		{name: "no compose", tools: map[string]string{"docker": "exit 1"},
			err: "neither `docker compose` nor `docker-compose` found: install Docker Compose"},
		{name: "no docker", tools: map[string]string{"docker-compose": ""},
			err: "docker not found: the compose cluster needs Docker (without it: go run ./etcd)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakeTools(t, c.tools)
			compose, err := New("p")
			if c.err != "" {
				assert.EqualError(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, compose.command)
			assert.FileExists(t, filepath.Join(compose.Dir, "docker-compose.yml"))
			cmd := compose.Command(context.Background(), "ps")
			assert.Equal(t, append(c.want, "-p", "p", "ps"), append([]string{filepath.Base(cmd.Path)}, cmd.Args[1:]...))
			assert.Contains(t, cmd.Env, ImageEnv+"="+Image, "docker-compose.yml needs it")
		})
	}
}

// A Docker engine that does not answer ends in an error that says so, within
// the deadline, even when the command ignores the interrupt.
func TestStuckDockerHasADeadline(t *testing.T) {
	shorten(t, &dockerTimeout, time.Second)
	shorten(t, &stopGrace, time.Second)
	// It ignores SIGINT: only SIGKILL, after stopGrace, ends it.
	fakeTools(t, map[string]string{"docker": `trap "" INT; exec ` + sleep(t) + ` 60`, "docker-compose": ""})
	c := &Compose{Project: "p", Dir: t.TempDir(), command: []string{"docker-compose"}}
	start := time.Now()
	_, err := c.Stop(context.Background(), "etcd1")
	assert.EqualError(t, err, "docker ps -a -q --filter label=com.docker.compose.project=p --filter "+
		"label=com.docker.compose.service=etcd1 did not finish within 1s: is the Docker engine stuck? (docker info)")
	assert.Less(t, time.Since(start), 20*time.Second)
}

// Up says what it does, step by step, and how long a step has been running.
func TestUpShowsItsSteps(t *testing.T) {
	shorten(t, &progressEvery, 20*time.Millisecond)
	record := fakeCluster(t, map[string]string{"go": sleep(t) + " 0.3"})
	c := fakeCompose(t)
	var progress bytes.Buffer
	require.NoError(t, c.Up(context.Background(), &progress))

	v := regexp.QuoteMeta(version.Version) // the etcd that go.mod pins
	assert.Regexp(t, `^cluster: building etcd `+v+` for linux/amd64 into etcd/bin/etcd \(a first build takes minutes\)
(cluster: building etcd\.\.\. 0s
)+cluster: etcd built in \d\.\ds
cluster: building the image etcd-lock-workshop/etcd:v`+v+` \(FROM scratch: nothing is pulled\)
(cluster: building the image\.\.\. 0s
)*cluster: image built in \d\.\ds
cluster: starting etcd1, etcd2, etcd3 \(project p\)
cluster: waiting for the members: etcd1 healthy, etcd2 starting, etcd3 no container \(0s\)
cluster: etcd1 healthy, etcd2 healthy, etcd3 healthy: all healthy after \d\.\ds
$`, progress.String())
	assert.Equal(t, []string{
		"docker version -f {{.Server.Os}}/{{.Server.Arch}}",
		"go build -trimpath -o etcd/bin/etcd ./etcd CGO_ENABLED=0 GOOS=linux GOARCH=amd64",
		"docker-compose -p p build etcd1",
		"docker ps -a -q --filter label=com.docker.compose.project=p",
		"docker-compose -p p up -d",
	}, record.calls("docker ps -a --filter"))

	env, err := os.ReadFile(filepath.Join(c.Dir, ".env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "\nCOMPOSE_PROJECT_NAME=etcd-lock-workshop\nWORKSHOP_ETCD_IMAGE=etcd-lock-workshop/etcd:v"+version.Version+"\n")
}

// Ctrl-C while the members start removes what this up created, and only that.
func TestUpInterrupted(t *testing.T) {
	for _, c := range []struct {
		name     string
		existing string // container ids docker ps gives before up
		down     bool
	}{
		{name: "nothing before", down: true},
		{name: "a cluster before", existing: "0123456789ab\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("FAKE_EXISTING", c.existing)
			// docker-compose up says on a pipe that it runs, then runs until stopped.
			started := filepath.Join(t.TempDir(), "started")
			mkfifo(t, started)
			t.Setenv("FAKE_STARTED", started)
			record := fakeCluster(t, map[string]string{"docker-compose": `[ "$3" = up ] && { echo up > "$FAKE_STARTED"; exec ` + sleep(t) + " 60; }"})
			compose := fakeCompose(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				os.ReadFile(started) // returns once docker-compose up has written to it
				cancel()             // Ctrl-C
			}()
			var progress bytes.Buffer
			start := time.Now()
			err := compose.Up(ctx, &progress)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), 20*time.Second)
			down := "docker-compose -p p down -v --remove-orphans -t 2"
			if c.down {
				assert.Equal(t, down, record.calls()[len(record.calls())-1])
				assert.Contains(t, progress.String(), "cluster: not up: removing what was started (down -v)\n")
			} else {
				assert.NotContains(t, record.calls(), down)
				assert.NotContains(t, progress.String(), "removing")
			}
		})
	}
}

// A failed start (a port taken by something else) leaves nothing behind.
func TestUpFailedStartRemovesIt(t *testing.T) {
	record := fakeCluster(t, map[string]string{"docker-compose": `[ "$3" = up ] && { echo "Bind for 127.0.0.1:2379 failed: port is already allocated" >&2; exit 1; }`})
	err := fakeCompose(t).Up(context.Background(), &bytes.Buffer{})
	assert.ErrorContains(t, err, "docker-compose -p p up -d: exit status 1\nBind for 127.0.0.1:2379 failed: port is already allocated")
	assert.Equal(t, "docker-compose -p p down -v --remove-orphans -t 2", record.calls()[len(record.calls())-1])
}

// Without a Docker engine, Up says so in words.
func TestUpWithoutEngine(t *testing.T) {
	fakeCluster(t, map[string]string{"docker": `echo "Cannot connect to the Docker daemon" >&2; exit 1`})
	err := fakeCompose(t).Up(context.Background(), &bytes.Buffer{})
	assert.ErrorContains(t, err, "the Docker engine does not answer: is Docker running? (docker info says more)")
}

// fakeCluster puts fake docker, docker-compose and go first in PATH: a
// cluster whose members turn healthy one poll after another. extra adds a
// line at the top of a fake. The calls are recorded.
func fakeCluster(t *testing.T, extra map[string]string) *record {
	r := &record{file: filepath.Join(t.TempDir(), "calls")}
	t.Setenv("FAKE_RECORD", r.file)
	t.Setenv("FAKE_POLLS", filepath.Join(t.TempDir(), "polls"))
	tools := map[string]string{
		"docker": `case "$1 $3" in
"version "*) echo linux/amd64 ;;
"compose "*) exit 1 ;;
"ps -q") printf "$FAKE_EXISTING" ;;
"ps --filter") n=0
	[ -f "$FAKE_POLLS" ] && read n < "$FAKE_POLLS"
	n=$((n+1))
	echo $n > "$FAKE_POLLS"
	[ $n -ge 1 ] && printf 'etcd1\tUp 1 second (healthy)\n'
	[ $n -eq 1 ] && printf 'etcd2\tUp 1 second (health: starting)\n'
	[ $n -ge 2 ] && printf 'etcd2\tUp 2 seconds (healthy)\netcd3\tUp 2 seconds (healthy)\n' ;;
esac`,
		"docker-compose": "",
		"go":             `echo "$CGO_ENABLED $GOOS $GOARCH" >> "$FAKE_RECORD"`,
	}
	for name, line := range extra {
		tools[name] = line + "\n" + tools[name]
	}
	for name, script := range tools {
		tools[name] = `echo "` + name + ` $*" >> "$FAKE_RECORD"` + "\n" + script + "\nexit 0"
	}
	fakeTools(t, tools)
	return r
}

// fakeCompose is a Compose of project p in a folder of the test's, run with docker-compose.
func fakeCompose(t *testing.T) *Compose {
	noPortCheck := func() error { return nil } // the test's fakes hold no port
	old := checkPorts
	checkPorts = noPortCheck
	t.Cleanup(func() { checkPorts = old })
	return &Compose{Project: "p", Dir: t.TempDir(), command: []string{"docker-compose"}}
}

// record is what the fake commands were called with, one line per call.
type record struct{ file string }

// calls are the recorded calls, without those that start with one of skip.
// A fake go's environment line is joined to its call.
func (r *record) calls(skip ...string) []string {
	data, _ := os.ReadFile(r.file)
	var calls []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		switch {
		case strings.HasPrefix(line, "0 linux"):
			calls[len(calls)-1] += " CGO_ENABLED=0 GOOS=linux GOARCH=amd64"
		case !startsWithAny(line, skip):
			calls = append(calls, line)
		}
	}
	return calls
}

func startsWithAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// sleep is the sleep program's path, found before PATH holds only fakes.
func sleep(t *testing.T) string {
	path, err := exec.LookPath("sleep")
	if err != nil {
		path, err = exec.LookPath("/bin/sleep")
	}
	require.NoError(t, err)
	return path
}

func shorten(t *testing.T, v *time.Duration, to time.Duration) {
	old := *v
	*v = to
	t.Cleanup(func() { *v = old })
}
