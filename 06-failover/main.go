// Chapter 06, beyond the article: the article deploys three etcd members;
// here they fail. Workers, each with its own session (a process of the
// article), take /my-test-lock and add one to a counter kept in etcd. The
// leader crashes: after a short election the workers lock again and no update
// is lost. A second member crashes: with no quorum a lock attempt fails within
// its timeout. Both come back, and the lock works again.
//
// main.go is the story, phase by phase; workers.go is the article's program
// as each worker runs it; counter.go the counter in etcd; journal.go what the
// workers did and when; cluster.go checks, crashes and restores the members.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/compose"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// failover is the chapter: four phases, each told on stdout as it ends.
func failover(ctx context.Context, c *cluster.Cluster, opt options, stdout, stderr io.Writer) (r report, err error) {
	say := timeline(stdout)
	if _, err := checkWhole(ctx, c, opt.project); err != nil { // else our first crash could lose the quorum
		return r, err
	}
	opened := &sessions{}                       // every session of the run, to revoke at the end
	defer cleanUp(ctx, c, opened, stderr, &err) // the cluster as found, also after Ctrl-C
	counter := &Counter{etcd: c.Etcd}
	if err := counter.Reset(ctx); err != nil {
		return r, err
	}

	// 1. Contention: every worker locks, reads the counter, writes it plus one.
	crew := startWorkers(ctx, c.Etcd, opt, opened, stderr)
	say("%s, each with its own session: lock %s, read %s, write it plus one", plural(opt.workers, "worker"), lockName, counterKey)
	if err := crew.journal.waitSections(ctx, opt.sections); err != nil {
		return r, joinLine(err, crew.stop())
	}

	// 2. The leader crashes while the workers contend. The others elect a new
	// one; until then nothing commits, and no worker can lock.
	whole, err := checkWhole(ctx, c, opt.project)
	if err != nil {
		return r, joinLine(err, crew.stop())
	}
	r.leader = whole.Leader
	say("%s done; stopping the leader, %s (a crash: no hand-over)", plural(crew.journal.done(), "critical section"), r.leader)
	crash, err := c.Stop(ctx, r.leader)
	if err != nil {
		return r, joinLine(err, crew.stop())
	}
	crew.journal.crashed(crash)
	election := watchForNewLeader(ctx, c, r.leader)
	err = crew.journal.waitSectionsAfterCrash(ctx, opt.sections)
	r.newLeader, r.electedAfter = election.result(crash, err == nil)
	if err = joinLine(err, crew.stop()); err != nil {
		return r, fmt.Errorf("after stopping the leader %s: %w; %s", r.leader, err, healthSummary(ctx, c))
	}
	r.pause = crew.journal.pause()
	say("new leader %s, seen (by polling the members) %s after the crash", r.newLeader, cli.Seconds(r.electedAfter))
	say("the workers' pause: their first critical section after the crash ended %s after it", cli.Seconds(r.pause))
	r.sections, r.failedDuringElection = crew.journal.done(), crew.journal.failedAfterCrash()
	if r.count, err = counter.Count(ctx); err != nil {
		return r, err
	}
	if unknown := crew.journal.unknownOutcomes(); unknown > 0 || r.count != r.sections {
		return r, fmt.Errorf("count %d, but %d critical sections succeeded (%d unknown): the lock failed to exclude", r.count, r.sections, unknown)
	}
	say("workers stopped: count %d = %d critical sections, no update lost", r.count, r.sections)
	say("lock attempts that failed after the crash: %s", crew.journal.failuresAfterCrash())

	// 3. A second member crashes: 1 of 3 is no majority, so nothing commits.
	session, err := c.NewSession(ctx, sessionTTL)
	if err != nil {
		return r, err
	}
	opened.add(session)
	second, err := checkOneDown(ctx, c, r.leader)
	if err != nil {
		return r, err
	}
	say("stopping %s too: 2 of 3 members down", second)
	if _, err := c.Stop(ctx, second); err != nil {
		return r, err
	}
	began := time.Now()
	err = lock(ctx, concurrency.NewMutex(session, lockName), opt.timeout)
	r.noQuorumAfter = time.Since(began)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if err == nil {
		return r, errors.New("locked with 2 of 3 members down: a lock without a quorum would not be safe")
	}
	r.noQuorum = fmt.Errorf("no quorum (no leader) with 2 of 3 members down, and a lock needs a majority (2 of 3) to commit its key: %w", err)
	say("lock attempt timed out after %s: no quorum (no leader) with 2 of 3 members down, and a lock needs a majority (2 of 3) to commit its key",
		cli.Seconds(r.noQuorumAfter))

	// 4. Both members come back with their data; the lock works again.
	say("starting %s and %s again", r.leader, second)
	for _, name := range []string{r.leader, second} {
		if err := c.Start(ctx, name); err != nil {
			return r, err
		}
	}
	r.restartedLeader, _ = watchForNewLeader(ctx, c, "").result(time.Now(), true)
	say("%s and %s restarted: 3 of 3 members up, leader %s", r.leader, second, r.restartedLeader)
	mutex := concurrency.NewMutex(session, lockName)
	if err := lock(ctx, mutex, opt.timeout); err != nil {
		return r, fmt.Errorf("no lock after the restart: %w", err)
	}
	err = opt.work(ctx, counter)
	unlock(ctx, mutex)
	if err != nil {
		return r, err
	}
	r.recovered = r.sections + 1
	if r.finalCount, err = counter.Count(ctx); err != nil {
		return r, err
	}
	say("locked again: count %d = %d critical sections", r.finalCount, r.recovered)
	return r, nil
}

type options struct {
	workers  int                                   // each with its own session
	sections int                                   // critical sections before the crash, and after it
	timeout  time.Duration                         // for one lock attempt
	work     func(context.Context, *Counter) error // the critical section
	project  string                                // with -endpoints: the compose project
}

// report is what happened, for the tests.
type report struct {
	leader, newLeader     string
	electedAfter, pause   time.Duration // from the crash to a new leader, and to the first critical section begun after it
	sections, count       int           // successful critical sections, and the counter in etcd
	failedDuringElection  int
	noQuorum              error
	noQuorumAfter         time.Duration
	restartedLeader       string
	recovered, finalCount int // critical sections once the members are back, and the counter
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if proc.Role() == "" {
		stdout, stderr = cli.Wrap(stdout), cli.Wrap(stderr) // for the projector: no line over 100 columns
	}
	fs := cli.NewFlagSet("06-failover", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	opt := options{work: func(ctx context.Context, c *Counter) error { return c.Incr(ctx) }}
	cli.IntVar(fs, &opt.workers, "workers", 5, 1, 100, "workers, each with its own session")
	cli.IntVar(fs, &opt.sections, "sections", 10, 1, 1000, "critical sections before the leader is stopped, and after")
	cli.DurationVar(fs, &opt.timeout, "lock-timeout", 2*time.Second, 100*time.Millisecond, time.Minute, "how long one lock attempt may wait")
	fs.StringVar(&opt.project, "project", compose.Project, "with -endpoints: the docker compose project whose members to stop")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	c, err := cluster.Open(ctx, flags, opt.project, stderr)
	if err != nil {
		return err
	}
	defer c.Close()

	r, err := failover(ctx, c, opt, stdout, stderr)
	if ctx.Err() != nil {
		return ctx.Err() // Ctrl-C: one line, not one per worker
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "count: %d\n", r.finalCount)
	return nil
}

// timeline returns a printer of the article's timestamp and the time since
// the start: "2026-11-25 04:43:22 +2.2s  new leader etcd3...".
func timeline(w io.Writer) func(format string, args ...any) {
	start := time.Now()
	return func(format string, args ...any) {
		cli.Logf(w, "+%-5s "+format, append([]any{cli.Seconds(time.Since(start))}, args...)...)
	}
}

// plural says "1 worker", "5 workers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// joinLine is errors.Join on one line, as the chapter prints an error.
func joinLine(errs ...error) error {
	var kept lineErrors
	for _, err := range errs {
		if err != nil {
			kept = append(kept, err)
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return kept
}

type lineErrors []error

func (e lineErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e lineErrors) Unwrap() []error { return e }
