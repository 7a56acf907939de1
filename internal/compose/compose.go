// Package compose drives the workshop's docker compose cluster, the
// article's three etcd members of docker-compose.yml: up (etcd built on the
// host, its image built FROM scratch, nothing pulled) and down for
// etcd/cluster, and Stop (a crash) and Start of one member for 06-failover.
//
// Every docker and compose command it runs has a deadline: a stuck Docker
// engine ends in an error that says so, never in a hang.
package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/version"
)

// Project is the compose project name of the workshop's cluster (also in
// the .env that Up writes, for docker compose commands typed by hand).
const Project = "etcd-lock-workshop"

// Endpoints are the cluster's client URLs, as docker-compose.yml publishes them.
const Endpoints = "http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379"

// Members are the cluster's services, named as the etcd members.
var Members = []string{"etcd1", "etcd2", "etcd3"}

// Image is the members' image: the etcd that go.mod pins, built by Up.
var Image = "etcd-lock-workshop/etcd:v" + version.Version

// ImageEnv names Image in docker-compose.yml. It has no default there: on a
// fresh clone, before Up has built the image, docker compose stops before it
// creates anything and says in one line to run go run ./etcd/cluster up.
const ImageEnv = "WORKSHOP_ETCD_IMAGE"

// Deadlines: generous for two busy cores, short enough that a stuck engine
// is reported. Variables, so that tests can make them short.
var (
	dockerTimeout  = 30 * time.Second // docker version, ps, kill
	composeTimeout = 3 * time.Minute  // compose build, up -d, down, docker start
	goBuildTimeout = 15 * time.Minute // go build ./etcd with a cold cache
	stopGrace      = 5 * time.Second  // after its deadline or Ctrl-C, a command gets SIGINT, then SIGKILL
)

// Compose drives the docker compose cluster of docker-compose.yml.
type Compose struct {
	Project string
	Dir     string   // the folder of docker-compose.yml and go.mod
	command []string // "docker compose" (v2) or "docker-compose" (v1)
}

// New finds docker-compose.yml here or above, and the compose command this
// machine has: the docker compose plugin, or the older docker-compose
// program, which many laptops still have.
func New(project string) (*Compose, error) {
	dir, err := projectDir()
	if err != nil {
		return nil, err
	}
	c := &Compose{Project: project, Dir: dir}
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, errors.New("docker not found: the compose cluster needs Docker (without it: go run ./etcd)")
	}
	if _, err := c.output(context.Background(), dockerTimeout, "docker", "compose", "version"); err == nil {
		c.command = []string{"docker", "compose"}
	} else if _, err := exec.LookPath("docker-compose"); err == nil {
		c.command = []string{"docker-compose"}
	} else {
		return nil, errors.New("neither `docker compose` nor `docker-compose` found: install Docker Compose")
	}
	return c, nil
}

// projectDir is the nearest folder above the current one with docker-compose.yml.
func projectDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "docker-compose.yml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no docker-compose.yml here or above: run this inside the workshop")
		}
		dir = parent
	}
}

// Command returns a compose command for this project, run in its folder,
// for a person to watch: it has no deadline but ctx (logs -f runs until
// Ctrl-C). The program's own calls go through Run.
func (c *Compose) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.command[0], c.args(args)...)
	cmd.Dir = c.Dir
	cmd.Env = c.env()
	return cmd
}

// Run runs a compose command with a deadline; its output is kept for the
// error, if any.
func (c *Compose) Run(ctx context.Context, args ...string) error {
	_, err := c.output(ctx, composeTimeout, c.command[0], c.args(args)...)
	return err
}

func (c *Compose) args(args []string) []string {
	return append(append(slices.Clone(c.command[1:]), "-p", c.Project), args...)
}

// env is the environment of every command: with the image docker-compose.yml
// asks for, whatever .env says or does not say.
func (c *Compose) env() []string {
	return append(os.Environ(), ImageEnv+"="+Image)
}

// output runs a command in the project's folder within timeout, and returns
// its stdout. On Ctrl-C (ctx cancelled) or at the deadline the command gets
// SIGINT, as from a terminal, so docker and compose stop what they do.
func (c *Compose) output(ctx context.Context, timeout time.Duration, name string, args ...string) ([]byte, error) {
	return c.outputEnv(ctx, timeout, nil, name, args...)
}

// outputEnv is output with more environment variables.
func (c *Compose) outputEnv(ctx context.Context, timeout time.Duration, env []string, name string, args ...string) ([]byte, error) {
	limited, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(limited, name, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(c.env(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopGrace
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	line := strings.Join(append([]string{name}, args...), " ")
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", line, ctx.Err())
	case limited.Err() != nil && name == "go":
		return nil, fmt.Errorf("%s did not finish within %s", line, timeout)
	case limited.Err() != nil:
		return nil, fmt.Errorf("%s did not finish within %s: is the Docker engine stuck? (docker info)", line, timeout)
	case err != nil:
		return nil, fmt.Errorf("%s: %v\n%s", line, err, bytes.TrimSpace(append(stderr.Bytes(), stdout.Bytes()...)))
	}
	return stdout.Bytes(), nil
}
