package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/version"
)

// healthTimeout bounds the wait for members to become healthy: they start in
// seconds, and elect a leader once two of them are up.
const healthTimeout = 90 * time.Second

// progressEvery is how often a long step says how long it has been running.
var progressEvery = 5 * time.Second

// Up builds etcd for the Docker engine's platform (static, CGO disabled),
// builds the image FROM scratch (nothing pulled), writes .env for compose
// commands typed by hand, starts the members, and returns once all of them
// are healthy. It says on progress what it is doing, every few seconds.
//
// Stopped by ctx (Ctrl-C) or by a failed start, it removes the members it
// created; members that were there before it stay as they are.
func (c *Compose) Up(ctx context.Context, progress io.Writer) error {
	out, err := c.output(ctx, dockerTimeout, "docker", "version", "-f", "{{.Server.Os}}/{{.Server.Arch}}")
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("the Docker engine does not answer: is Docker running? (docker info says more)\n%v", err)
	}
	goos, goarch, err := parsePlatform(out)
	if err != nil {
		return err
	}
	intro := fmt.Sprintf("building etcd %s for %s/%s into etcd/bin/etcd (a first build takes minutes)", version.Version, goos, goarch)
	if err := step(progress, intro, "building etcd", "etcd built", func() error {
		return c.buildEtcd(ctx, goos, goarch)
	}); err != nil {
		return err
	}
	// One service builds it; all three use the same image.
	intro = "building the image " + Image + " (FROM scratch: nothing is pulled)"
	if err := step(progress, intro, "building the image", "image built", func() error {
		return c.Run(ctx, "build", Members[0])
	}); err != nil {
		return err
	}
	if err := c.writeEnvFile(); err != nil {
		return err
	}

	existing, err := c.containers(ctx)
	if err != nil {
		return err
	}
	if len(existing) == 0 {
		if err := checkPorts(); err != nil {
			return err
		}
	}
	fmt.Fprintf(progress, "cluster: starting %s (project %s)\n", strings.Join(Members, ", "), c.Project)
	err = c.Run(ctx, "up", "-d")
	if err == nil {
		err = c.waitHealthy(ctx, healthTimeout, progress, Members...)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("%w (go run ./etcd/cluster logs shows why; down removes the cluster)", err)
		}
	}
	if err != nil && len(existing) == 0 {
		// Nothing was there: leave nothing, also after Ctrl-C (hence a context of its own).
		fmt.Fprintln(progress, "cluster: not up: removing what was started (down -v)")
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), composeTimeout)
		defer cancel()
		if downErr := c.Down(cleanup); downErr != nil {
			return errors.Join(err, downErr)
		}
	}
	return err
}

// Down removes the members, their network and their data volumes.
func (c *Compose) Down(ctx context.Context) error {
	// -t 2: the data goes too, so a graceful stop has nothing to save.
	return c.Run(ctx, "down", "-v", "--remove-orphans", "-t", "2")
}

// parsePlatform reads docker version's "linux/amd64".
func parsePlatform(out []byte) (goos, goarch string, err error) {
	goos, goarch, ok := strings.Cut(strings.TrimSpace(string(out)), "/")
	if !ok || goos == "" || goarch == "" || strings.ContainsAny(goarch, "/ \n") {
		return "", "", fmt.Errorf("docker version: want the engine's os/arch, got %q", out)
	}
	return goos, goarch, nil
}

// buildEtcd builds the static binary that the image holds.
func (c *Compose) buildEtcd(ctx context.Context, goos, goarch string) error {
	_, err := c.outputEnv(ctx, goBuildTimeout, []string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch},
		"go", "build", "-trimpath", "-o", filepath.Join("etcd", "bin", "etcd"), "./etcd")
	return err
}

// envFile is .env: docker compose reads it in this folder, so that commands
// typed by hand (docker-compose up -d, ps, logs) find the workshop's project
// and the image that Up built. Git ignores it.
var envFile = fmt.Sprintf(`# Written by go run ./etcd/cluster up (git ignores it): docker compose typed by
# hand in this folder uses the workshop's project and the image up built.
COMPOSE_PROJECT_NAME=%s
%s=%s
`, Project, ImageEnv, Image)

func (c *Compose) writeEnvFile() error {
	path := filepath.Join(c.Dir, ".env")
	if old, err := os.ReadFile(path); err == nil && string(old) == envFile {
		return nil
	}
	if err := os.WriteFile(path, []byte(envFile), 0o644); err != nil {
		return fmt.Errorf("writing .env for docker compose: %w", err)
	}
	return nil
}

// checkPorts is portsFree, or nothing in tests whose fake members hold no port.
var checkPorts = portsFree

// portsFree: the cluster's ports are free, or compose would fail half-way,
// with its network and containers made.
func portsFree() error {
	for _, endpoint := range strings.Split(Endpoints, ",") {
		address := strings.TrimPrefix(endpoint, "http://")
		l, err := net.Listen("tcp", address)
		if err != nil {
			return fmt.Errorf("%s is in use, and the cluster publishes it: is go run ./etcd running (Ctrl-C it), "+
				"or another cluster of the workshop? (%v)", address, err)
		}
		l.Close()
	}
	return nil
}

// step runs one step of Up: it says what it does, then how long it has been
// doing it every few seconds, so that a long build is never silent. Plain
// lines: they read the same on a terminal, in a pipe and in go test -v.
func step(progress io.Writer, intro, doing, done string, do func() error) error {
	fmt.Fprintf(progress, "cluster: %s\n", intro)
	start := time.Now()
	finished := make(chan error, 1)
	go func() { finished <- do() }()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-finished:
			if err == nil {
				fmt.Fprintf(progress, "cluster: %s in %s\n", done, seconds(time.Since(start)))
			}
			return err
		case <-tick.C:
			fmt.Fprintf(progress, "cluster: %s... %s\n", doing, time.Since(start).Round(time.Second))
		}
	}
}

// seconds formats d as "2.3s".
func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
