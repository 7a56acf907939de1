// Chapter 09, beyond the article: prove the lock the way Jepsen does. The
// article's program (locker.Lock(); counter.Incr(); locker.Unlock()) runs in
// several clients at once while a nemesis injects one kind of fault: none, a
// pause, a kill, a leader crash, a partition, a slow network. Every call is
// recorded with the time it began and the time it returned: a history. A
// linearizability checker (porcupine, as in etcd's robustness tests) then
// asks of two histories whether they could have come from one correct
// object: the lock's (a mutex: two holders at once are illegal) and the
// count's (every acknowledged write read back, nothing lost). A pause or a
// partition breaks the lock, always; only a fence keeps the count safe.
package main

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/lock"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// client is one process of the article: it takes the lock, adds one to the
// shared count, and lets go, over and over, recording every call.
type client struct {
	id     int
	etcd   *workshop.Etcd
	kind   string // which lock: "mutex" (etcd's) or "lock" (the workshop's)
	name   string // the lock's name
	ttl    int
	count  record      // the shared count, behind the experiment's fence
	report func(event) // where the history goes
	rng    *rand.Rand

	// The victim's: its first section after stallAt stops after the read,
	// to be stopped or killed there by the nemesis.
	stallAt time.Time
	stall   func()

	session *concurrency.Session
	mutex   mutex
}

// work is the article's loop, until the experiment ends (until is done).
// Requests use ctx, so that a section under way finishes.
func (c *client) work(ctx, until context.Context) error {
	defer c.endSession(ctx)
	for until.Err() == nil {
		if c.startSession(ctx) != nil || !c.lock(until) { // locker.Lock()
			c.backOff(until, failureBackOff)
			continue
		}
		c.incr(ctx)   // counter.Incr(): read the count, write it back plus one
		c.unlock(ctx) // locker.Unlock()
		// A breath of 0-2 ms, so that the clients interleave.
		c.backOff(until, time.Duration(c.rng.IntN(3))*time.Millisecond)
	}
	return ctx.Err()
}

func (c *client) lock(until context.Context) bool {
	ctx, cancel := context.WithTimeout(until, c.lockWait())
	defer cancel()
	c.call(opAcquire, 0)
	if err := c.mutex.Lock(ctx); err != nil {
		c.ret(event{Op: opAcquire, Outcome: failed})
		return false
	}
	c.ret(event{Op: opAcquire, Outcome: ok, Token: c.mutex.Token()})
	return true
}

func (c *client) incr(ctx context.Context) {
	c.call(opRead, 0)
	n, err := c.count.Read(ctx, c.mutex)
	if err != nil {
		c.ret(event{Op: opRead, Outcome: failed})
		return
	}
	c.ret(event{Op: opRead, Outcome: ok, Value: n})
	// The holder's own guard (07): a holder that knows its session is gone
	// does not write. It cannot see a pause that comes after this look.
	select {
	case <-c.session.Done():
		return
	default:
	}
	if c.stall != nil && !c.stallAt.IsZero() && time.Now().After(c.stallAt) {
		c.stallAt = time.Time{} // once
		c.call(opStall, n)
		c.stall() // the nemesis stops or kills this process here
	}
	c.call(opWrite, n+1)
	switch err := c.count.Write(ctx, c.mutex, n+1); {
	case err == nil:
		c.ret(event{Op: opWrite, Outcome: ok})
	case errors.Is(err, ErrRefused):
		c.ret(event{Op: opWrite, Outcome: refused})
	default:
		c.ret(event{Op: opWrite, Outcome: unknown}) // it may still land
	}
}

func (c *client) unlock(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	c.call(opRelease, 0)
	switch err := c.mutex.Unlock(rctx); {
	case err == nil:
		c.ret(event{Op: opRelease, Outcome: ok}) // etcd's Mutex says ok even when its lease had expired
	case errors.Is(err, lock.ErrNotOwner):
		c.ret(event{Op: opRelease, Outcome: lost}) // the workshop's lock says so
	default:
		// Released or not: nobody knows. The lease will free it: let the
		// session go, so that it does.
		c.ret(event{Op: opRelease, Outcome: unknown})
		c.endSession(ctx)
	}
}

func (c *client) call(op string, value int) {
	c.report(event{Client: c.id, Op: op, At: time.Now().UnixNano(), Value: value})
}

func (c *client) ret(e event) {
	e.Client, e.Return, e.At = c.id, true, time.Now().UnixNano()
	c.report(e)
}

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if proc.Role() == victimRole {
		return runVictim(ctx, args, stdout, stderr)
	}
	stdout, stderr = cli.Wrap(stdout), cli.Wrap(stderr) // for the projector: no line over 100 columns
	fs := cli.NewFlagSet("09-check", stderr)
	flags := workshop.PrivateEtcdFlags(fs)
	var b bench
	cli.IntVar(fs, &b.clients, "clients", 3, 2, 8, "clients per experiment, each with its own session")
	cli.DurationVar(fs, &b.duration, "duration", time.Second, 200*time.Millisecond, time.Minute,
		"how long the clients work in each experiment (a fault adds its own time)")
	cli.IntVar(fs, &b.ttl, "ttl", 1, 1, 10, "the sessions' lease TTL in seconds: how long a paused holder keeps the lock")
	seed := cli.Int(fs, "seed", 1, 0, 1<<30, "seed of every random choice (when the victim stalls, the clients' waits between sections): the same seed, the same choices")
	out := fs.String("out", "", "folder for the pictures of illegal histories (default: a new temp folder, kept)")
	only := fs.String("only", "", "run only this experiment, such as mutex/none/pause")
	locks := fs.String("locks", "mutex,lock", "locks to try: mutex (etcd's concurrency.Mutex), lock (the workshop's internal/lock)")
	fences := fs.String("fences", "none,etcd,token", "fences to try: none (a plain Put), etcd (Txn If IsOwner), token (a store that checks the lock's revision)")
	faults := fs.String("nemeses", strings.ReplaceAll(nemesisNames(), " ", ""), "faults to inject: none; pause ("+proc.FreezeName+" a holder past its TTL); "+
		"kill (SIGKILL a holder); leader (crash etcd's leader); partition (cut the leader off, with a holder attached to it alone); "+
		"slow (delay the leader's messages by -delay)")
	cli.DurationVar(fs, &b.slowDelay, "delay", 50*time.Millisecond, time.Millisecond, 10*time.Second,
		"the slow nemesis: how late the leader's messages reach the other members (± a third)")
	project := fs.String("project", defaultProject, "with -endpoints: the docker compose project whose members the leader crash stops")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	series, err := plan(*locks, *fences, *faults, *only)
	if err != nil {
		return cli.BadValue(fs, "%v", err)
	}
	b.seed, b.stdout, b.stderr = uint64(*seed), stdout, stderr
	b.startVictim = startVictimProcess

	stopEtcd, err := b.connect(ctx, flags, *project)
	if err != nil {
		return err
	}
	defer stopEtcd()
	if b.pictures, err = newPictures(*out, stderr); err != nil {
		return err
	}
	defer b.pictures.close()
	return b.runSeries(ctx, series)
}
