package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/compose"
	"etcd-lock-workshop/internal/fence"
	"etcd-lock-workshop/internal/workshop"
)

// Running the series: one experiment after another on the same etcd.

const (
	defaultProject = compose.Project
	keyPrefix      = "/09-check" // every key the chapter writes; deleted at the end
	// checkTimeout bounds porcupine on one history (checking is NP-hard;
	// these histories take milliseconds).
	checkTimeout = 20 * time.Second
)

// experiment is one lock, one fence, one fault.
type experiment struct {
	lock, fence string
	nemesis     *nemesis
}

func (x experiment) String() string { return x.lock + "/" + x.fence + "/" + x.nemesis.name }

// plan lists the experiments: every lock with every fence under every fault
// named, or the one named by only.
func plan(locks, fences, faults, only string) ([]experiment, error) {
	if only != "" {
		parts := strings.Split(only, "/")
		if len(parts) != 3 {
			return nil, fmt.Errorf("-only %q: want lock/fence/nemesis, such as mutex/none/pause", only)
		}
		locks, fences, faults = parts[0], parts[1], parts[2]
	}
	lockList, err := pick("lock", "locks", locks, lockKinds)
	if err != nil {
		return nil, err
	}
	fenceList, err := pick("fence", "fences", fences, fenceKinds)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, n := range nemeses {
		all = append(all, n.name)
	}
	faultList, err := pick("nemesis", "nemeses", faults, all)
	if err != nil {
		return nil, err
	}
	var series []experiment
	for _, l := range lockList {
		for _, f := range fenceList {
			for _, name := range faultList {
				n := nemeses[slices.IndexFunc(nemeses, func(n *nemesis) bool { return n.name == name })]
				series = append(series, experiment{l, f, n})
			}
		}
	}
	return series, nil
}

func pick(what, whats, list string, known []string) ([]string, error) {
	var names []string
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("no %s %q: the %s are %s", what, name, whats, strings.Join(known, ", "))
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no %s to try", what)
	}
	return names, nil
}

// bench is what the experiments of a series share.
type bench struct {
	etcd       *workshop.Etcd
	members    cluster.Members   // nil when this etcd's members cannot be stopped from here
	membersWhy string            // why not
	cluster    *cluster.Embedded // the embedded cluster, whose links can be cut and slowed; nil with -endpoints
	clients    int
	duration   time.Duration
	ttl        int
	slowDelay  time.Duration // how late the slow nemesis makes the leader's messages
	seed       uint64
	pictures   *pictures
	stdout     io.Writer
	stderr     io.Writer
	// startVictim starts client 0 of a pause or a kill: a process (tests
	// may play it in-process).
	startVictim func(context.Context, *workshop.Etcd, victimArgs, *history) (victim, error)
}

// connect starts an embedded three-member cluster (a leader to crash), or
// uses the etcd of -endpoints, whose members are crashed with docker compose
// if it is the compose cluster. It returns the function that lets go of it.
func (b *bench) connect(ctx context.Context, flags *workshop.Flags, project string) (func(), error) {
	if len(flags.EndpointList()) == 0 {
		c, err := cluster.Open(ctx, flags, project, b.stderr)
		if err != nil {
			return nil, err
		}
		b.etcd, b.members, b.cluster = c.Etcd, c.Members, c.Embedded
		return c.Close, nil
	}
	e, err := workshop.Connect(ctx, flags, b.stderr)
	if err != nil {
		return nil, err
	}
	b.etcd = e
	b.members, b.membersWhy = composeMembers(ctx, e, project)
	if b.members != nil {
		fmt.Fprintf(b.stderr, "etcd: the leader crash kills members of compose project %s with docker\n", project)
	}
	return e.Close, nil
}

// composeMembers are the members of the compose cluster, if that is the
// etcd of -endpoints and docker compose is here; otherwise why not.
func composeMembers(ctx context.Context, e *workshop.Etcd, project string) (cluster.Members, string) {
	ctx, cancel := e.WithTimeout(ctx)
	defer cancel()
	list, err := e.Client.MemberList(ctx)
	if err != nil {
		return nil, "member list: " + err.Error()
	}
	var names []string
	for _, m := range list.Members {
		names = append(names, m.Name)
	}
	for _, name := range names {
		if !slices.Contains(compose.Members, name) {
			return nil, fmt.Sprintf("with -endpoints, the leader crash needs the compose cluster (%s); this etcd's members are %s",
				strings.Join(compose.Members, ", "), strings.Join(names, ", "))
		}
	}
	members, err := compose.New(project)
	if err != nil {
		return nil, "with -endpoints, members are crashed with docker compose: " + err.Error()
	}
	return members, ""
}

// runSeries runs the experiments, one line each, then the table and the summary.
func (b *bench) runSeries(ctx context.Context, series []experiment) error {
	fmt.Fprintf(b.stderr, "%d %s, %d clients each for %s, lease TTL %ds, seed %d\n",
		len(series), plural(len(series), "experiment", "experiments"), b.clients, b.duration, b.ttl, b.seed)
	var results []*result
	var errs []error
	defer b.removeKeys(ctx)
	for _, x := range series {
		r := b.experiment(ctx, x)
		if ctx.Err() != nil {
			return ctx.Err() // Ctrl-C: one line, not one per experiment
		}
		b.report(r)
		results = append(results, r)
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", x, r.err))
		}
	}
	printTable(b.stdout, results)
	fmt.Fprintln(b.stdout, summary(results))
	return errors.Join(errs...)
}

// experiment runs one experiment: the clients work for the duration while
// the nemesis strikes, a referee reads the count, and porcupine checks the
// two histories.
func (b *bench) experiment(ctx context.Context, x experiment) *result {
	r := &result{x: x, referee: b.clients}
	switch {
	case x.nemesis.members && b.members == nil:
		r.skipped = b.membersWhy
		return r
	case x.nemesis.network && b.cluster == nil:
		r.skipped = "with -endpoints: cutting and slowing a member's links needs the embedded cluster (etcd's CutPeer and fault proxy in this process); run without -endpoints"
		return r
	}
	fmt.Fprintf(b.stderr, "%s: %s...\n", x, x.nemesis.about)
	seed := fnv.New64a()
	seed.Write([]byte(x.String()))
	rng := rand.New(rand.NewPCG(b.seed, seed.Sum64()))
	prefix := keyPrefix + "/" + strings.ReplaceAll(x.String(), "/", "-")

	store := &fence.Storage{}
	storeURL := ""
	if x.fence == "token" {
		url, stop, err := fence.Serve(store)
		if err != nil {
			r.err = err
			return r
		}
		defer stop()
		storeURL = url
	}
	h := newHistory()
	until, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	first := 0
	a := &attack{bench: b, h: h, bound: 3*time.Duration(b.ttl)*time.Second + 10*time.Second,
		delay: time.Duration(float64(b.duration) * (0.2 + 0.2*rng.Float64()))}
	etcd := b.etcd // the clients' etcd
	if x.nemesis.victim || x.nemesis.attached {
		args := victimArgs{kind: x.lock, fence: x.fence, name: prefix, store: storeURL, ttl: b.ttl, seed: rng.Uint64(),
			stallAt: h.start.Add(a.delay), until: h.start.Add(b.duration + 2*a.bound)}
		if x.nemesis.victim {
			v, err := b.startVictim(ctx, b.etcd, args, h)
			if err != nil {
				r.err = err
				return r
			}
			a.victim = v
		} else {
			s, err := b.split(ctx, a.bound)
			if err != nil {
				r.err = err
				return r
			}
			defer s.close()
			a.target, etcd = s.member, s.others
			a.victim = startLocalVictim(ctx, s.alone, args, h)
		}
		first = 1
	}
	for id := first; id < b.clients; id++ {
		c := &client{id: id, etcd: etcd, kind: x.lock, name: lockName(prefix), ttl: b.ttl,
			count: countFor(etcd, x.fence, prefix, storeURL), report: h.add, rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(id)))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx, until)
		}()
	}

	r.what, r.err = x.nemesis.inject(ctx, a)
	// The clients work for the duration, and a little after the fault: what
	// it did shows in the sections that follow.
	end := h.start.Add(b.duration)
	if x.nemesis.name != "none" {
		end = later(end, time.Now().Add(b.duration/4))
	}
	select {
	case <-time.After(time.Until(end)):
	case <-ctx.Done():
	}
	stop()
	wg.Wait()
	if a.victim != nil {
		a.victim.finish()
		if err := a.victim.wait(a.bound); err != nil && r.err == nil {
			r.err = err
		}
	}
	if err := b.referee(ctx, h, x.fence, prefix, store); err != nil && r.err == nil {
		r.err = err
	}
	b.cleanUp(ctx, h, prefix)
	r.check(h)
	return r
}

// referee reads the count once every client has stopped: the last call of
// the count's history, which no lost write can hide from.
func (b *bench) referee(ctx context.Context, h *history, fenceKind, prefix string, store *fence.Storage) error {
	h.add(event{Client: b.clients, Op: opRead, At: time.Now().UnixNano()})
	var n int
	if fenceKind == "token" {
		n = store.Count()
	} else {
		var err error
		if n, err = (etcdCount{client: b.etcd.Client, key: countKey(prefix)}).Read(ctx, nil); err != nil {
			h.add(event{Client: b.clients, Op: opRead, Return: true, At: time.Now().UnixNano(), Outcome: failed})
			return fmt.Errorf("the referee could not read the count: %w", err)
		}
	}
	h.add(event{Client: b.clients, Op: opRead, Return: true, At: time.Now().UnixNano(), Outcome: ok, Value: n})
	return nil
}

// cleanUp revokes every lease the experiment's clients made (a killed
// client's has expired, a paused one's too; the others revoked theirs: this
// is for a client that could not) and deletes the experiment's keys.
func (b *bench) cleanUp(ctx context.Context, h *history, prefix string) {
	events, _, _ := h.snapshot()
	var leases []clientv3.LeaseID
	for _, e := range events {
		if e.Op == opSession {
			leases = append(leases, clientv3.LeaseID(e.Lease)) // "not found" for most: fine
		}
	}
	b.etcd.RevokeLeases(ctx, leases)
	if ctx.Err() == nil { // stopping: removeKeys deletes every key of the chapter, once
		b.etcd.Remove(ctx, prefix+"/", clientv3.WithPrefix())
	}
}

// removeKeys deletes every key of the chapter, even after Ctrl-C.
func (b *bench) removeKeys(ctx context.Context) {
	b.etcd.Remove(ctx, keyPrefix+"/", clientv3.WithPrefix())
}

// result is what an experiment found.
type result struct {
	x           experiment
	referee     int    // the client number of the referee's final read
	skipped     string // why it did not run
	err         error
	what        string // what the nemesis did
	calls       []call
	notes       []note
	lockOps     []porcupine.Operation
	countOps    []porcupine.Operation
	lock, count porcupine.CheckResult
	lockInfo    porcupine.LinearizationInfo
	countInfo   porcupine.LinearizationInfo
}

// check pairs the history's events into calls and has porcupine check both histories.
func (r *result) check(h *history) {
	r.calls = h.calls()
	_, r.notes, _ = h.snapshot()
	r.lockOps, r.countOps = operations(r.calls)
	r.lock, r.lockInfo = porcupine.CheckOperationsVerbose(lockModel, r.lockOps, checkTimeout)
	r.count, r.countInfo = porcupine.CheckOperationsVerbose(countModel.ToModel(), r.countOps, checkTimeout)
}

// verdict is the experiment's word in the table and the summary.
func (r *result) verdict() string {
	switch {
	case r.skipped != "":
		return "skipped"
	case r.err != nil:
		return "error"
	case r.lock == porcupine.Unknown || r.count == porcupine.Unknown:
		return "unknown"
	case r.count == porcupine.Illegal && r.lock == porcupine.Illegal:
		return "illegal"
	case r.count == porcupine.Illegal:
		return "data-illegal"
	case r.lock == porcupine.Illegal:
		return "data-ok"
	default:
		return "ok"
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
