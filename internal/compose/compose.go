package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Project is the compose project name of the workshop's cluster
// (also in .env, for docker compose commands typed by hand).
const Project = "etcd-lock-workshop"

// Endpoints are the cluster's client URLs, as docker-compose.yml publishes them.
const Endpoints = "http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379"

// Members are the cluster's services, named as the etcd members.
var Members = []string{"etcd1", "etcd2", "etcd3"}

// Compose drives the docker compose cluster of docker-compose.yml.
type Compose struct {
	Project string
	Dir     string   // the folder of docker-compose.yml and go.mod
	command []string // "docker compose" (v2) or "docker-compose" (v1)
}

// New finds docker-compose.yml above the current directory and the
// compose command this machine has: the docker compose plugin, or the older
// docker-compose program, which many laptops still have.
func New(project string) (*Compose, error) {
	dir, err := projectDir()
	if err != nil {
		return nil, err
	}
	c := &Compose{Project: project, Dir: dir}
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, errors.New("docker not found: the compose cluster needs Docker (without it: go run ./etcd)")
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
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

// Command returns a compose command for this project, run in its folder.
func (c *Compose) Command(ctx context.Context, args ...string) *exec.Cmd {
	full := append(slices.Clone(c.command[1:]), "-p", c.Project)
	cmd := exec.CommandContext(ctx, c.command[0], append(full, args...)...)
	cmd.Dir = c.Dir
	return cmd
}

// Run runs a compose command; its output is kept for the error, if any.
func (c *Compose) Run(ctx context.Context, args ...string) error {
	out, err := c.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", strings.Join(c.command, " "), strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Up builds etcd for the Docker engine's platform (static, CGO disabled),
// builds the image FROM scratch (nothing pulled), starts the members, and
// returns once all of them are healthy.
func (c *Compose) Up(ctx context.Context, progress io.Writer) error {
	platform, err := exec.CommandContext(ctx, "docker", "version", "-f", "{{.Server.Os}}/{{.Server.Arch}}").Output()
	if err != nil {
		return fmt.Errorf("docker engine not answering (%v): is Docker running? docker info says more", err)
	}
	goos, goarch, _ := strings.Cut(strings.TrimSpace(string(platform)), "/")
	fmt.Fprintf(progress, "cluster: building etcd for %s/%s into etcd/bin/etcd\n", goos, goarch)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join("etcd", "bin", "etcd"), "./etcd")
	build.Dir = c.Dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./etcd: %v\n%s", err, out)
	}
	fmt.Fprintln(progress, "cluster: building the image (FROM scratch)")
	// One service builds it; all three use the same image.
	if err := c.Run(ctx, "build", Members[0]); err != nil {
		return err
	}
	fmt.Fprintf(progress, "cluster: starting %s (project %s)\n", strings.Join(Members, ", "), c.Project)
	if err := c.Run(ctx, "up", "-d"); err != nil {
		return err
	}
	return c.WaitHealthy(ctx, 90*time.Second, Members...)
}

// Down removes the members, their network and their data volumes.
func (c *Compose) Down(ctx context.Context) error {
	// -t 2: the data goes too, so a graceful stop has nothing to save.
	return c.Run(ctx, "down", "-v", "--remove-orphans", "-t", "2")
}

// Stop kills a member's container (SIGKILL, a crash: no leadership
// hand-over) and returns the moment it died. Its data stays in its volume.
func (c *Compose) Stop(ctx context.Context, name string) (time.Time, error) {
	id, err := c.container(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	// docker kill returns as soon as the signal is delivered.
	if out, err := exec.CommandContext(ctx, "docker", "kill", id).CombinedOutput(); err != nil {
		return time.Time{}, fmt.Errorf("docker kill %s (%s): %v %s", name, id, err, bytes.TrimSpace(out))
	}
	return time.Now(), nil
}

// Start starts a member's container again and waits until it is healthy,
// which needs a majority of members up.
func (c *Compose) Start(ctx context.Context, name string) error {
	id, err := c.container(ctx, name)
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "docker", "start", id).CombinedOutput(); err != nil {
		return fmt.Errorf("docker start %s (%s): %v %s", name, id, err, bytes.TrimSpace(out))
	}
	return c.WaitHealthy(ctx, 60*time.Second, name)
}

// WaitHealthy waits until the healthcheck (etcd health) passes in every
// service's container. Compose v1 has no `up --wait`, so ask docker inspect.
func (c *Compose) WaitHealthy(ctx context.Context, timeout time.Duration, services ...string) error {
	deadline := time.Now().Add(timeout)
	for _, service := range services {
		for {
			status, err := c.health(ctx, service)
			if err == nil && status == "healthy" {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not healthy after %s (status %q, %v): see docker compose -p %s logs %s",
					service, timeout, status, err, c.Project, service)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond): // polling docker: there is no event to wait on
			}
		}
	}
	return nil
}

func (c *Compose) health(ctx context.Context, service string) (string, error) {
	id, err := c.container(ctx, service)
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.State.Health.Status}}", id).Output()
	return strings.TrimSpace(string(out)), err
}

// container is the id of a service's container, running or stopped. It asks
// docker for compose's labels: docker-compose (Python) takes a second to start.
func (c *Compose) container(ctx context.Context, service string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "-q",
		"--filter", "label=com.docker.compose.project="+c.Project,
		"--filter", "label=com.docker.compose.service="+service).Output()
	id := string(bytes.TrimSpace(out))
	if err != nil || id == "" || strings.Contains(id, "\n") {
		return "", fmt.Errorf("no single container for %s in compose project %s (%v %q): is the cluster up? go run ./etcd/cluster up",
			service, c.Project, err, id)
	}
	return id, nil
}
