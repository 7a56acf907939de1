package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/version"

	"etcd-lock-workshop/internal/compose"
	"etcd-lock-workshop/internal/workshop"
)

// Members stops and starts the members of an etcd cluster by name, so that a
// chapter can show what a lock does when they fail: an Embedded cluster, or
// the docker compose cluster (compose.Compose).
type Members interface {
	// Stop crashes a member (no goodbye to the others, no leadership
	// hand-over) and returns the moment it died.
	Stop(ctx context.Context, name string) (died time.Time, err error)
	// Start starts a stopped member again, with the data it had; a member
	// that runs is only waited for.
	Start(ctx context.Context, name string) error
}

// Cluster is an etcd cluster whose members a chapter stops and starts: an
// embedded three-member cluster, or with -endpoints the compose cluster.
// The members it stops through Stop, it remembers, so that Restore can start
// them again: a chapter leaves the cluster as it found it.
type Cluster struct {
	*workshop.Etcd
	Members  Members
	Embedded *Embedded // nil for the compose cluster

	mu      sync.Mutex
	stopped []string // by Stop, and not started again yet
}

// Open starts an embedded three-member cluster, or with -endpoints
// uses the compose cluster of the given project (whose containers it stops
// with docker; an etcd of another size it refuses), and says on stderr which
// one. Close it when done.
func Open(ctx context.Context, f *workshop.Flags, project string, stderr io.Writer) (*Cluster, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	creds, err := f.Credentials()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Etcd: &workshop.Etcd{Endpoints: f.EndpointList(), Timeout: f.DialTimeout, Credentials: creds, CACert: f.CACert}}
	if len(c.Endpoints) == 0 {
		start := time.Now()
		cluster, err := StartEmbedded(ctx, 3, workshop.EmbeddedOptions{})
		if err != nil {
			return nil, err
		}
		c.Embedded, c.Members, c.Endpoints = cluster, cluster, cluster.Endpoints()
		fmt.Fprintf(stderr, "etcd: embedded 3-member cluster, etcd %s at %s, started in %s (use -endpoints for the compose cluster)\n",
			version.Version, strings.Join(c.Endpoints, ","), time.Since(start).Round(time.Millisecond))
	}
	cli, err := c.Dial(ctx, c.Endpoints) // as -user, trusting -cacert
	if err != nil {
		c.Close()
		return nil, f.Explain(err)
	}
	c.Client = cli
	if c.Embedded == nil {
		// Before a word about crashing members: is this a cluster of three?
		if h, err := c.Health(ctx); err == nil && len(h.Members) != 3 {
			c.Close()
			return nil, fmt.Errorf("the etcd at %s has %d member(s) (%s), and crashing members needs a cluster of 3: "+
				"the compose cluster (go run ./etcd/cluster up), or no -endpoints for an embedded one",
				strings.Join(c.Endpoints, ","), len(h.Members), strings.Join(h.Members, ", "))
		}
		members, err := compose.New(project)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("with -endpoints, members are stopped with docker compose: %w", err)
		}
		c.Members = members
		fmt.Fprintf(stderr, "etcd: external cluster at %s; members of compose project %s are crashed with docker kill\n",
			strings.Join(c.Endpoints, ","), project)
	}
	return c, nil
}

// Health says which members answer and which one leads. A stopped member
// costs up to 2 s (or the dial timeout if shorter): the time a member that
// answers is given.
func (c *Cluster) Health(ctx context.Context) (Health, error) {
	return CheckHealth(ctx, c.Client, c.Endpoints, min(c.Timeout, 2*time.Second))
}

// Stop crashes a member (see Members) and remembers it for Restore, even if
// it fails: a member may be down although docker did not say so. A crash once
// begun is not cancelled with ctx (a Ctrl-C mid-way would leave it unknown
// whether the member is down); it is bounded by stopTimeout.
func (c *Cluster) Stop(ctx context.Context, name string) (time.Time, error) {
	c.mu.Lock()
	if !slices.Contains(c.stopped, name) {
		c.stopped = append(c.stopped, name)
	}
	c.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	return c.Members.Stop(sctx, name)
}

// stopTimeout bounds a crash: docker kill, or an embedded member's.
const stopTimeout = 30 * time.Second

// Start starts a member again (see Members); Restore forgets it.
func (c *Cluster) Start(ctx context.Context, name string) error {
	err := c.Members.Start(ctx, name)
	if err == nil {
		c.mu.Lock()
		c.stopped = slices.DeleteFunc(c.stopped, func(s string) bool { return s == name })
		c.mu.Unlock()
	}
	return err
}

// Stopped are the members that Stop crashed and Start has not started again.
func (c *Cluster) Stopped() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.stopped)
}

// Restore starts again every member that Stop crashed (or tried to), within
// timeout, even when ctx has been cancelled: Ctrl-C must not leave a
// learner's cluster broken. Starting a member that runs only waits for it.
func (c *Cluster) Restore(ctx context.Context, timeout time.Duration) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	for _, name := range c.Stopped() {
		if err := c.Start(rctx, name); err != nil {
			errs = append(errs, fmt.Errorf("start %s again: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Close closes the client and stops an embedded cluster, removing its data.
func (c *Cluster) Close() {
	c.Etcd.Close()
	if c.Embedded != nil {
		c.Embedded.Close()
	}
}
