package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/compose"
)

// How long the members this chapter stopped may take to start again when it
// ends early: a compose member needs a few seconds to pass its healthcheck.
const restoreTimeout = 2 * time.Minute

// checkWhole refuses a cluster that is not whole (every member answering, one
// leader): the chapter crashes the leader, then a second member, and a
// member already down would make the first crash the one that loses the
// quorum.
func checkWhole(ctx context.Context, c *cluster.Cluster, project string) (cluster.Health, error) {
	h, err := c.Health(ctx)
	switch {
	case err != nil:
		return h, fmt.Errorf("cannot tell whether the cluster is whole: %w", err)
	case len(h.Members) != 3:
		return h, fmt.Errorf("06 needs a cluster of 3 members; the one at %s has %d (%s)",
			strings.Join(c.Endpoints, ","), len(h.Members), strings.Join(h.Members, ", "))
	case len(h.Down) > 0:
		return h, fmt.Errorf("the cluster is not whole: %s not answering (%s). 06 crashes the leader, then a second member: "+
			"start every member first%s", strings.Join(h.Down, ", "), describe(h), startHint(c, project, h.Down))
	case h.Leader == "":
		return h, fmt.Errorf("the cluster is not whole: its members do not agree on a leader (%s); try again in a moment", describe(h))
	}
	return h, nil
}

// checkOneDown checks that only the stopped member is down and the two others
// agree on a leader, and returns that leader: the next member to stop.
func checkOneDown(ctx context.Context, c *cluster.Cluster, stopped string) (string, error) {
	h, err := c.Health(ctx)
	if err == nil && (len(h.Down) != 1 || h.Down[0] != stopped || h.Leader == "") {
		err = fmt.Errorf("only %s should be down, with a leader (%s)", stopped, describe(h))
	}
	if err != nil {
		return "", fmt.Errorf("before stopping a second member: %w", err)
	}
	return h.Leader, nil
}

// describe says which members answer and who leads, in the words of
// workshop.NewClient: "members answering: etcd1, etcd2; not answering: etcd3; leader etcd1".
func describe(h cluster.Health) string {
	var up []string
	for _, m := range h.Members {
		if !slices.Contains(h.Down, m) {
			up = append(up, m)
		}
	}
	leader := "no quorum (no leader)"
	if h.Leader != "" {
		leader = "leader " + h.Leader
	}
	return fmt.Sprintf("members answering: %s; not answering: %s; %s", cli.OrNone(up, ", "), cli.OrNone(h.Down, ", "), leader)
}

func healthSummary(ctx context.Context, c *cluster.Cluster) string {
	h, err := c.Health(ctx)
	if err != nil {
		return err.Error()
	}
	return describe(h)
}

// startHint tells how to start the members that are down.
func startHint(c *cluster.Cluster, project string, down []string) string {
	if c.Embedded != nil {
		return ""
	}
	flag := ""
	if project != compose.Project {
		flag = " -project " + project
	}
	return fmt.Sprintf(": go run ./etcd/cluster%s start %s", flag, strings.Join(down, " "))
}

// election polls the members in the background until one other than the old
// leader ("" for any) leads: no event tells a client "elected".
type election struct {
	name   string
	at     time.Time
	done   chan struct{}
	cancel context.CancelFunc
}

func watchForNewLeader(ctx context.Context, c *cluster.Cluster, old string) *election {
	pctx, cancel := context.WithCancel(ctx)
	e := &election{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(e.done)
		for pctx.Err() == nil {
			// A short timeout: a crashed member never answers.
			if name, _ := cluster.Leader(pctx, c.Client, c.Endpoints, 250*time.Millisecond); name != "" && name != old {
				e.name, e.at = name, time.Now()
				return
			}
			select {
			case <-pctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return e
}

// result returns the leader the polling found ("" if none) and how long
// after the crash. When the workers locked again, a leader exists: it waits
// a while for the polling to see it; otherwise it stops the polling at once.
func (e *election) result(crash time.Time, workersLocked bool) (string, time.Duration) {
	if workersLocked {
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
		}
	}
	e.cancel()
	<-e.done
	if e.name == "" {
		return "", 0
	}
	return e.name, e.at.Sub(crash)
}

// sessions are the sessions the chapter opened, to revoke at the end.
type sessions struct {
	mu   sync.Mutex
	list []*concurrency.Session
}

func (s *sessions) add(session *concurrency.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, session)
}

// cleanUp leaves the cluster as the chapter found it, also after an error or
// Ctrl-C (with contexts of its own, bounded): the members it stopped are
// started again, then every lease it granted is revoked (a worker's own
// revoke fails when it comes during an election) and the counter deleted.
// After Ctrl-C its own failures go to stderr, since the chapter then only
// says it stopped.
func cleanUp(ctx context.Context, c *cluster.Cluster, opened *sessions, stderr io.Writer, err *error) {
	var errs []error
	if stopped := c.Stopped(); len(stopped) > 0 {
		fmt.Fprintf(stderr, "starting %s again, which 06 stopped (up to %s)\n", strings.Join(stopped, " and "), restoreTimeout)
		errs = append(errs, c.Restore(ctx, restoreTimeout))
	}
	opened.mu.Lock()
	for _, session := range opened.list {
		errs = append(errs, c.CloseSession(ctx, session))
	}
	opened.mu.Unlock()
	errs = append(errs, (&Counter{etcd: c.Etcd}).Delete(ctx))
	left := joinLine(errs...)
	switch {
	case left == nil:
	case ctx.Err() != nil:
		cli.LeftBehind(stderr, "could not leave the cluster as 06 found it: %v", left)
	default:
		*err = joinLine(*err, fmt.Errorf("could not leave the cluster as 06 found it: %w", left))
	}
}
