package compose

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Stop kills a member's container (SIGKILL, a crash: no leadership
// hand-over) and returns the moment it died. Its data stays in its volume.
func (c *Compose) Stop(ctx context.Context, name string) (time.Time, error) {
	id, err := c.container(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	// docker kill returns as soon as the signal is delivered.
	if _, err := c.output(ctx, dockerTimeout, "docker", "kill", id); err != nil {
		return time.Time{}, fmt.Errorf("stopping %s: %w", name, err)
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
	if _, err := c.output(ctx, composeTimeout, "docker", "start", id); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	return c.WaitHealthy(ctx, 60*time.Second, name)
}

// WaitHealthy waits until the healthcheck (etcd health) passes in every
// service's container, or timeout passes.
func (c *Compose) WaitHealthy(ctx context.Context, timeout time.Duration, services ...string) error {
	return c.waitHealthy(ctx, timeout, nil, services...)
}

// waitHealthy is WaitHealthy that says on progress (unless nil) which
// services are healthy, when that changes and every few seconds. Compose v1
// has no `up --wait`, and docker has no event to wait on that v1 and v2 both
// give: it polls.
func (c *Compose) waitHealthy(ctx context.Context, timeout time.Duration, progress io.Writer, services ...string) error {
	start := time.Now()
	var said string
	var saidAt time.Time
	for {
		states, err := c.states(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		summary, healthy := summarize(states, services)
		if err != nil {
			summary = err.Error()
		}
		if progress != nil && (healthy || summary != said || time.Since(saidAt) >= progressEvery) {
			if healthy {
				fmt.Fprintf(progress, "cluster: %s: all healthy after %s\n", summary, seconds(time.Since(start)))
			} else {
				fmt.Fprintf(progress, "cluster: waiting for the members: %s (%s)\n", summary, time.Since(start).Round(time.Second))
			}
			said, saidAt = summary, time.Now()
		}
		if healthy {
			return nil
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("members not healthy after %s: %s", timeout, summary)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// states asks docker, in one call, for the state of each service's container
// in the project: "healthy", "starting", "unhealthy", "exited"...
func (c *Compose) states(ctx context.Context) (map[string]string, error) {
	out, err := c.output(ctx, dockerTimeout, "docker", "ps", "-a",
		"--filter", "label=com.docker.compose.project="+c.Project,
		"--format", `{{.Label "com.docker.compose.service"}}	{{.Status}}`)
	if err != nil {
		return nil, err
	}
	return parseStates(out), nil
}

// parseStates reads docker ps lines "etcd1<TAB>Up 3 seconds (healthy)".
func parseStates(out []byte) map[string]string {
	states := map[string]string{}
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		service, status, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		switch {
		case strings.Contains(status, "(healthy)"):
			states[service] = "healthy"
		case strings.Contains(status, "(unhealthy)"):
			states[service] = "unhealthy"
		case strings.Contains(status, "(health: starting)"):
			states[service] = "starting"
		default: // "Exited (137) 2 seconds ago", "Created", "Restarting (1) ..."
			state, _, _ := strings.Cut(status, " ")
			states[service] = strings.ToLower(state)
		}
	}
	return states
}

// summarize says each service's state ("etcd1 healthy, etcd2 starting") and
// whether all of them are healthy.
func summarize(states map[string]string, services []string) (string, bool) {
	parts := make([]string, len(services))
	all := true
	for i, service := range services {
		state, ok := states[service]
		if !ok {
			state = "no container"
		}
		all = all && state == "healthy"
		parts[i] = service + " " + state
	}
	return strings.Join(parts, ", "), all
}

// containers are the ids of the project's containers, running or stopped.
func (c *Compose) containers(ctx context.Context, filters ...string) ([]string, error) {
	args := []string{"ps", "-a", "-q", "--filter", "label=com.docker.compose.project=" + c.Project}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	out, err := c.output(ctx, dockerTimeout, "docker", args...)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(strings.Split(string(out), "\n"), func(id string) bool { return strings.TrimSpace(id) == "" }), nil
}

// container is the id of a service's container. It asks docker for
// compose's labels: docker-compose (Python) takes a second to start.
func (c *Compose) container(ctx context.Context, service string) (string, error) {
	ids, err := c.containers(ctx, "label=com.docker.compose.service="+service)
	if err != nil {
		return "", err
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("%d containers for %s in compose project %s, want 1: is the cluster up? go run ./etcd/cluster up",
			len(ids), service, c.Project)
	}
	return ids[0], nil
}
