package main

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run) // the test binary plays the victim too
}

// The checker itself, on histories written by hand.

func acquire(client int, from, to int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: lockCall{Client: client, Acquire: true}, Output: ok, Call: from, Return: to}
}

func release(client int, from, to int64, outcome string) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: lockCall{Client: client}, Output: outcome, Call: from, Return: to}
}

func incr(client int, from, to int64, read int, write string) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: section{Client: client, Wrote: read + 1},
		Output: sectionResult{Read: read, Write: write}, Call: from, Return: to}
}

func finalRead(from, to int64, read int) porcupine.Operation {
	return porcupine.Operation{ClientId: 9, Input: section{Client: 9}, Output: sectionResult{Read: read}, Call: from, Return: to}
}

func TestLockModel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history []porcupine.Operation
		legal   bool
	}{
		{"one holder after the other; B's Lock waited", []porcupine.Operation{
			acquire(0, 0, 1), acquire(1, 1, 5), release(0, 2, 3, ok), release(1, 6, 7, ok)}, true},
		{"a failed Lock takes nothing", []porcupine.Operation{
			acquire(0, 0, 1), {ClientId: 1, Input: lockCall{Client: 1, Acquire: true}, Output: failed, Call: 1, Return: 2}, release(0, 3, 4, ok)}, true},
		{"two holders at once", []porcupine.Operation{
			acquire(0, 0, 1), acquire(1, 2, 3), release(0, 4, 5, ok), release(1, 6, 7, ok)}, false},
		{"two holders, the first told it lost the lock only at Unlock", []porcupine.Operation{
			acquire(0, 0, 1), acquire(1, 2, 3), release(1, 4, 5, ok), release(0, 6, 7, lost)}, false},
		{"a killed holder, freed by its lease at some time after its death", []porcupine.Operation{
			acquire(0, 0, 1), release(0, 2, never, byLease), acquire(1, 1, 8), release(1, 9, 10, ok)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.legal, porcupine.CheckOperations(lockModel, tc.history))
		})
	}
}

func TestCountModel(t *testing.T) {
	model := countModel.ToModel()
	for _, tc := range []struct {
		name    string
		history []porcupine.Operation
		legal   bool
	}{
		{"one section after the other", []porcupine.Operation{
			incr(0, 0, 3, 0, ok), incr(1, 4, 6, 1, ok), finalRead(7, 8, 2)}, true},
		{"a lost update: B's write overwritten by A's stale one", []porcupine.Operation{
			incr(0, 0, 10, 0, ok), incr(1, 2, 4, 0, ok), finalRead(11, 12, 1)}, false},
		{"a lost update seen only by the final read", []porcupine.Operation{
			incr(0, 0, 3, 0, ok), incr(1, 4, 6, 1, ok), finalRead(7, 8, 1)}, false},
		{"a stale write refused by the fence", []porcupine.Operation{
			incr(0, 0, 10, 0, refused), incr(1, 2, 4, 0, ok), finalRead(11, 12, 1)}, true},
		{"a write of unknown outcome that landed", []porcupine.Operation{
			incr(0, 0, never, 0, unknown), incr(1, 5, 6, 1, ok), finalRead(7, 8, 2)}, true},
		{"a write of unknown outcome that did not land", []porcupine.Operation{
			incr(0, 0, never, 0, unknown), incr(1, 5, 6, 0, ok), finalRead(7, 8, 1)}, true},
		{"an unknown outcome excuses nothing else", []porcupine.Operation{
			incr(0, 0, never, 0, unknown), incr(1, 5, 6, 0, ok), incr(2, 7, 8, 1, ok), finalRead(9, 10, 1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.legal, porcupine.CheckOperations(model, tc.history))
		})
	}
}

// Events become calls: a killed holder's section under way ends with its
// read (it wrote nothing), and its lease frees the lock some time after its death.
func TestKilledHolderIsFreedByItsLease(t *testing.T) {
	t.Parallel()
	h := newHistory()
	t0 := h.start.UnixNano()
	for _, e := range []event{
		{Client: 0, Op: opAcquire, At: t0 + 1}, {Client: 0, Op: opAcquire, Return: true, At: t0 + 2, Outcome: ok, Token: 7},
		{Client: 0, Op: opRead, At: t0 + 3}, {Client: 0, Op: opRead, Return: true, At: t0 + 4, Outcome: ok, Value: 0},
		{Client: 0, Op: opStall, At: t0 + 5},
		{Client: 1, Op: opAcquire, At: t0 + 3}, {Client: 1, Op: opAcquire, Return: true, At: t0 + 20, Outcome: ok, Token: 9},
		{Client: 1, Op: opRead, At: t0 + 21}, {Client: 1, Op: opRead, Return: true, At: t0 + 22, Outcome: ok, Value: 0},
		{Client: 1, Op: opWrite, At: t0 + 23, Value: 1}, {Client: 1, Op: opWrite, Return: true, At: t0 + 24, Outcome: ok},
		{Client: 1, Op: opRelease, At: t0 + 25}, {Client: 1, Op: opRelease, Return: true, At: t0 + 26, Outcome: ok},
	} {
		h.add(e)
	}
	h.killed(0, time.Unix(0, t0+10))
	lockOps, countOps := operations(h.calls())
	assert.Contains(t, lockOps, porcupine.Operation{ClientId: 0, Input: lockCall{Client: 0}, Output: byLease, Call: 10, Return: never})
	assert.Contains(t, countOps, porcupine.Operation{ClientId: 0, Input: section{Client: 0, Token: 7}, Output: sectionResult{Read: 0}, Call: 3, Return: 4})
	assert.True(t, porcupine.CheckOperations(lockModel, lockOps))
	assert.True(t, porcupine.CheckOperations(countModel.ToModel(), countOps))
}

// The timeline of a pause: the holds around the violation, the many taken
// while client 0 held the lock elided in the middle.
func TestTimelineOfAPause(t *testing.T) {
	t.Parallel()
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	calls := []call{{client: 1, op: opAcquire, begin: 0, end: ms(1), outcome: ok},
		{client: 1, op: opRead, begin: ms(2), end: ms(3), read: 0, wrote: 1, writeOutcome: ok},
		{client: 1, op: opRelease, begin: ms(4), end: ms(5), outcome: ok},
		{client: 0, op: opAcquire, begin: ms(4), end: ms(6), outcome: ok},
		{client: 0, op: opRead, begin: ms(7), end: ms(900), read: 1, wrote: 2, writeOutcome: ok},
		{client: 0, op: opRelease, begin: ms(901), end: ms(902), outcome: ok}}
	for i := range int64(5) { // five holds while client 0 is stopped
		from := ms(500 + 10*i)
		calls = append(calls, call{client: 1 + int(i%2), op: opAcquire, begin: from - ms(1), end: from, outcome: ok},
			call{client: 1 + int(i%2), op: opRead, begin: from + ms(1), end: from + ms(2), read: int(1 + i), wrote: int(2 + i), writeOutcome: ok},
			call{client: 1 + int(i%2), op: opRelease, begin: from + ms(3), end: from + ms(4), outcome: ok})
	}
	calls = append(calls, call{client: 2, op: opAcquire, begin: ms(903), end: ms(904), outcome: ok},
		call{client: 2, op: opRead, begin: ms(905), end: ms(906), read: 2, wrote: 3, writeOutcome: ok},
		call{client: 2, op: opRelease, begin: ms(907), end: ms(908), outcome: ok})
	slices.SortStableFunc(calls, func(a, b call) int { return compare(a.begin, b.begin) })
	var out bytes.Buffer
	printTimeline(&out, &result{calls: calls, notes: []note{{What: "client 0 stopped", From: ms(8), To: ms(890), Client: 0, Mark: "stopped"}}})
	assert.Equal(t, `  who held the lock, around the violation (time since the experiment began):
    0.001s-0.004s  client 1  read 0, wrote 1
    0.006s-0.901s  client 0  read 1, wrote 2 (stopped from 0.008s to 0.890s)
    0.500s-0.503s  client 1  read 1, wrote 2   <- while client 0 held it
    0.510s-0.513s  client 2  read 2, wrote 3   <- while client 0 held it
    ... 2 more while client 0 held it
    0.540s-0.543s  client 1  read 5, wrote 6   <- while client 0 held it
    0.904s-0.907s  client 2  read 2, wrote 3
`, out.String())
}

// A lost update with a legal lock history (a write landing late, say): the
// timeline shows the holds around the first section no order explains.
func TestTimelineOfALostUpdateAlone(t *testing.T) {
	t.Parallel()
	var calls []call
	for i, read := range []int{0, 1, 1, 2} { // the third section read 1 again
		at := int64(10 * i)
		calls = append(calls, call{client: i % 2, op: opAcquire, begin: at, end: at + 1, outcome: ok},
			call{client: i % 2, op: opRead, begin: at + 2, end: at + 3, read: read, wrote: read + 1, writeOutcome: ok},
			call{client: i % 2, op: opRelease, begin: at + 4, end: at + 5, outcome: ok})
	}
	r := &result{calls: calls}
	r.lockOps, r.countOps = operations(calls)
	r.lock, r.lockInfo = porcupine.CheckOperationsVerbose(lockModel, r.lockOps, time.Second)
	r.count, r.countInfo = porcupine.CheckOperationsVerbose(countModel.ToModel(), r.countOps, time.Second)
	require.Equal(t, porcupine.Ok, r.lock)
	require.Equal(t, porcupine.Illegal, r.count)
	var out bytes.Buffer
	printTimeline(&out, r)
	assert.Contains(t, out.String(), "client 0  read 1, wrote 2\n", "the section that read a count already overwritten")
}

// Against etcd: short experiments, each on its own etcd.

// victims are the pids of the victim processes a test started.
type victims struct {
	mu   sync.Mutex
	pids []int
}

func testBench(t *testing.T, etcd *workshop.Etcd) (*bench, *bytes.Buffer) {
	var out bytes.Buffer
	w := &lockedWriter{w: &out}
	b := &bench{etcd: etcd, clients: 3, duration: 300 * time.Millisecond, ttl: 1, seed: 1, slowDelay: 50 * time.Millisecond,
		pictures: &pictures{dir: t.TempDir()}, stdout: w, stderr: w}
	var started victims
	b.startVictim = func(ctx context.Context, e *workshop.Etcd, a victimArgs, h *history) (victim, error) {
		v, err := startVictimProcess(ctx, e, a, h)
		if err == nil {
			started.mu.Lock()
			started.pids = append(started.pids, v.(*victimProcess).child.Pid())
			started.mu.Unlock()
		}
		return v, err
	}
	t.Cleanup(func() {
		for _, pid := range started.pids {
			// Reaped: the pid is gone. (Stopped or running, it would answer.)
			assert.False(t, cli.Alive(pid), "victim pid %d left behind", pid)
		}
	})
	return b, &out
}

func find(name string) experiment {
	series, err := plan("", "", "", name)
	if err != nil {
		panic(err)
	}
	return series[0]
}

// The README's table of the whole series, checked cell by cell against a
// real run of each experiment (300 ms of work each instead of a second),
// with what each fault must have done.

// readmeTable is the README's table: the verdict of each experiment. The
// Chinese README must have the very same table.
func readmeTable(t *testing.T) map[string]string {
	t.Helper()
	cells := readmeTableOf(t, "README.md")
	assert.Equal(t, cells, readmeTableOf(t, "README.zh-CN.md"), "README.zh-CN.md's table differs from README.md's")
	return cells
}

func readmeTableOf(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	cells := map[string]string{}
	var header []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "|") {
			if header != nil {
				break // the end of the table
			}
			continue
		}
		var row []string
		for _, cell := range strings.Split(strings.Trim(line, "|"), "|") {
			row = append(row, strings.Trim(strings.TrimSpace(cell), "`"))
		}
		switch {
		case row[0] == "lock/fence":
			header = row
		case header == nil || strings.HasPrefix(row[0], "-"):
		default:
			for i, verdict := range row[1:] {
				cells[row[0]+"/"+header[i+1]] = verdict
			}
		}
	}
	return cells
}

// Every experiment of the default series has its cell, and no other.
func TestREADMETableIsTheWholeSeries(t *testing.T) {
	series, err := plan("mutex,lock", "none,etcd,token", nemesisNames(), "")
	require.NoError(t, err)
	var want []string
	for _, x := range series {
		want = append(want, x.String())
	}
	assert.ElementsMatch(t, want, slices.Collect(maps.Keys(readmeTable(t))))
}

// TestTheWholeSeries runs the experiments of each column of the README's
// table, every lock with every fence, and checks each verdict against its
// cell, and with the column's check what the fault did. The columns run at
// once, and in each the locks, each on an etcd of its own.
func TestTheWholeSeries(t *testing.T) {
	t.Parallel()
	table := readmeTable(t)
	columns := map[string]struct {
		bench func(*testing.T) (*bench, *bytes.Buffer)
		check func(t *testing.T, b *bench, r *result, out string)
	}{
		"none":      {singleEtcd, noFaultChecks},
		"pause":     {singleEtcd, pauseOfAHolder},
		"kill":      {singleEtcd, killOfAHolder},
		"leader":    {threeMembers, leaderCrash},
		"partition": {threeMembers, partitionOfTheLeader},
		"slow":      {threeMembers, slowLeader},
	}
	require.Len(t, columns, len(nemeses))
	atOnce(t, slices.Collect(maps.Keys(columns)), func(t *testing.T, nemesis string) {
		atOnce(t, lockKinds, func(t *testing.T, lock string) {
			b, out := columns[nemesis].bench(t)
			series, err := plan(lock, "none,etcd,token", nemesis, "")
			require.NoError(t, err)
			for _, x := range series {
				r := b.experiment(context.Background(), x)
				require.NoError(t, r.err, out.String())
				b.report(r)
				assert.Equal(t, table[x.String()], r.verdict(), "%s: the README's table says otherwise\n%s", x, out.String())
				columns[nemesis].check(t, b, r, out.String())
			}
			assertCleanedUp(t, b)
		})
	})
}

// atOnce runs a subtest per name, all at once: go test runs only two
// parallel tests at a time on 2 cores, and an experiment is mostly waiting
// (for a lease to expire, for an election).
func atOnce(t *testing.T, names []string, test func(t *testing.T, name string)) {
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() { t.Run(name, func(t *testing.T) { test(t, name) }) })
	}
	wg.Wait()
}

func singleEtcd(t *testing.T) (*bench, *bytes.Buffer) {
	takeSlot(t)
	return testBench(t, workshoptest.Etcd(t))
}

// slots bound how many experiments run at once in this package. Their leases
// live 1 s: a client starved of the CPU that long loses its lock, and two
// dozen etcds and their clients under -race, beside another package's tests,
// starve 2 cores (a no-fault run came out illegal that way).
var slots = make(chan struct{}, 4)

// takeSlot waits for a slot, which the test gives back when it ends.
func takeSlot(t *testing.T) {
	slots <- struct{}{}
	t.Cleanup(func() { <-slots })
}

// threeMembers is a bench on an embedded three-member cluster of its own.
func threeMembers(t *testing.T) (*bench, *bytes.Buffer) {
	takeSlot(t)
	c, err := cluster.Open(context.Background(), &workshop.Flags{DialTimeout: 10 * time.Second}, "", &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	b, out := testBench(t, c.Etcd)
	b.members, b.cluster = c.Members, c.Embedded
	return b, out
}

// No fault: both histories are legal, for both locks, with any fence, and
// the clients did write.
func noFaultChecks(t *testing.T, b *bench, r *result, out string) {
	assert.GreaterOrEqual(t, r.writes().acked, 2, "%s: the clients wrote", r.x)
}

// A real pause (SIGSTOP past the TTL): two holders every time; without a
// fence a lost update; with one, the stale write refused. Each illegal
// history is drawn, and its timeline shown.
func pauseOfAHolder(t *testing.T, b *bench, r *result, out string) {
	assert.Equal(t, porcupine.Illegal, r.lock, "%s: two holders", r.x)
	assert.Contains(t, r.what, "client 0 stopped for", r.x)
	drawn := []string{"lock"}
	if r.x.fence == "none" {
		drawn = append(drawn, "data")
	}
	for _, which := range drawn {
		assert.FileExists(t, filepath.Join(b.pictures.dir, strings.ReplaceAll(r.x.String(), "/", "-")+"-"+which+".html"))
	}
	assert.Contains(t, out, "<- while client 0 held it")
	assert.Contains(t, out, "(stopped from ")
}

// A holder killed with SIGKILL: its lease frees the lock, nothing is lost.
func killOfAHolder(t *testing.T, b *bench, r *result, out string) {
	assert.Contains(t, r.what, "client 0 killed holding the lock; its lease freed it", r.x)
	freed := 0
	for _, op := range r.lockOps {
		if op.ClientId == 0 && op.Output == byLease && op.Return == never {
			freed++
		}
	}
	assert.Equal(t, 1, freed, "%s: the killed holder's release, by its lease, at some time after its death", r.x)
}

// The leader crashes while the clients work: the data stays legal.
func leaderCrash(t *testing.T, b *bench, r *result, out string) {
	assert.Equal(t, porcupine.Ok, r.count, "%s: the data's history", r.x)
	assert.Contains(t, r.what, "(the leader) crashed for", r.x)
}

// The leader is cut off while a holder attached to it alone is between its
// read and its write: the others take the lock (two holders, every time),
// and the write it sends from there waits in its member and lands once the
// partition heals, unless a fence refuses it.
func partitionOfTheLeader(t *testing.T, b *bench, r *result, out string) {
	assert.Equal(t, porcupine.Illegal, r.lock, "%s: two holders", r.x)
	// The leader when client 0 attached to it; an election under way by the
	// time it is cut off would make it a follower, with the same outcome.
	assert.Regexp(t, `^etcd\d \((the leader|a follower)\) cut off with client 0 for `, r.what, r.x)
	if r.x.fence == "none" {
		assert.Equal(t, porcupine.Illegal, r.count, "%s: a lost update", r.x)
		assert.Contains(t, r.what, "client 0's write, sent while cut off: acknowledged after the heal", r.x)
	} else {
		assert.Equal(t, porcupine.Ok, r.count, "%s: the data's history", r.x)
		assert.Contains(t, r.what, "client 0's write, sent while cut off: refused by the fence", r.x)
	}
	assert.Contains(t, out, "(cut off from ")
}

// The leader's messages are delayed while the clients work: with a fence,
// the data stays legal. A section on a count in etcd, made while the leader
// was slow, took at least the delay (less its jitter): its read and its
// write each wait for the leader's messages to the others.
func slowLeader(t *testing.T, b *bench, r *result, out string) {
	if r.x.fence != "none" {
		assert.Equal(t, porcupine.Ok, r.count, "%s: the data's history", r.x)
	}
	assert.Regexp(t, `^etcd\d \(the leader\) slowed by 50ms ± 17ms for `, r.what, r.x)
	if r.x.fence == "token" {
		return // the count is in the token's store, which is not slow
	}
	require.Len(t, r.notes, 1, "%s: the slow leader", r.x)
	fault, under := r.notes[0], 0
	for _, c := range r.calls {
		if c.op == opRead && c.writeOutcome == ok && c.begin > fault.From && c.end < fault.To {
			under++
			assert.GreaterOrEqual(t, time.Duration(c.end-c.begin), b.slowDelay-b.slowJitter(), "%s: a section under the slow leader", r.x)
		}
	}
	assert.Positive(t, under, "%s: sections under the slow leader", r.x)
}

// Many pauses of a fenced holder, in-process (its lease revoked where it
// stalls: what etcd does when the TTL runs out, without the wait): the lock's
// history is illegal every round, the data's legal every round; without a
// fence, illegal every round.
func TestPauseWithFenceKeepsTheDataLegal(t *testing.T) {
	t.Parallel()
	const rounds = 8
	want := map[string]string{"mutex/etcd": "data-ok", "mutex/token": "data-ok",
		"lock/etcd": "data-ok", "lock/token": "data-ok", "lock/none": "illegal"}
	atOnce(t, slices.Sorted(maps.Keys(want)), func(t *testing.T, lockFence string) {
		b, out := singleEtcd(t)
		b.duration = 200 * time.Millisecond
		b.startVictim = startInProcessVictim
		for round := range rounds {
			b.seed = uint64(round)
			r := b.experiment(context.Background(), find(lockFence+"/pause"))
			require.NoError(t, r.err, out.String())
			require.Equal(t, want[lockFence], r.verdict(), "round %d\n%s", round, out.String())
		}
		assertCleanedUp(t, b)
	})
}

// assertCleanedUp: no lease and no key of the chapter left in etcd.
func assertCleanedUp(t *testing.T, b *bench) {
	t.Helper()
	b.removeKeys(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leases, err := b.etcd.Client.Leases(ctx)
	require.NoError(t, err)
	assert.Empty(t, leases.Leases, "leases left")
	keys, err := b.etcd.Client.Get(ctx, keyPrefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.Zero(t, keys.Count, "keys left")
}

// The whole program, as a learner runs it, on an external etcd: the victim
// is a real process, and none is left behind, stopped or running.
func TestRun(t *testing.T) {
	t.Parallel()
	takeSlot(t)
	etcd := workshoptest.Etcd(t)
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-endpoints", etcd.Endpoints[0], "-locks", "mutex", "-fences", "none,token",
		"-nemeses", "pause,partition", "-duration", "300ms", "-out", dir}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	out := cli.Unwrap(stdout.String()) // wrapped at 100 columns for the projector
	assert.Contains(t, out, "\nsummary: mutex/none/pause=illegal mutex/none/partition=skipped mutex/token/pause=data-ok mutex/token/partition=skipped\n")
	assert.Contains(t, out, "\nmutex/none/partition skipped: with -endpoints: cutting and slowing a member's links needs the embedded cluster")
	// The referee's count against the writes acknowledged: lower without a
	// fence (a lost update), equal with one.
	for name, lost := range map[string]bool{"mutex/none/pause": true, "mutex/token/pause": false} {
		m := regexp.MustCompile(`(?m)^` + name + ` .* count (\d+) after (\d+) acknowledged writes`).FindStringSubmatch(out)
		require.NotNil(t, m, "%s's line in:\n%s", name, out)
		count, _ := strconv.Atoi(m[1])
		acked, _ := strconv.Atoi(m[2])
		if lost {
			assert.Less(t, count, acked, name)
		} else {
			assert.Equal(t, acked, count, name)
		}
	}
	pictures, _ := filepath.Glob(filepath.Join(dir, "*.html"))
	assert.Len(t, pictures, 3, "lock and data of the unfenced pause, lock of the fenced one")
	assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
	assertCleanedUp(t, &bench{etcd: etcd})
}

// The README's output block, from a real run. The pictures' temp folder,
// which the program keeps, goes into the test's own.
func TestREADME(t *testing.T) {
	takeSlot(t)
	t.Setenv("TMPDIR", t.TempDir())
	workshoptest.CheckREADMEs(t, run,
		workshoptest.R(`\S*/09-check-\d+`, "<temp folder>"),
		workshoptest.R(`\b(read|wrote|write|count|after) \d+`, "$1 <n>"),
		workshoptest.R(`client [1-9]\b`, "client <c>"),
	)
}

// As a learner meets them: bad flags exit 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-clients", "1"}, Status: 2, Says: "Usage of 09-check"},
		workshoptest.ExitCase{Name: "no such experiment", Args: []string{"-only", "mutex/none/tea"}, Status: 2, Says: `no nemesis "tea"`},
		workshoptest.ExitCase{Name: "no delay", Args: []string{"-delay", "0s"}, Status: 2, Says: "Usage of 09-check"},
		workshoptest.Unreachable(t),
	)
}

// inProcessVictim plays client 0 of a pause in this process: "stopped" by
// revoking its lease where it stalls, as etcd does once the TTL has run out.
type inProcessVictim struct {
	*localVictim
	h    *history
	etcd *workshop.Etcd
}

func startInProcessVictim(ctx context.Context, e *workshop.Etcd, a victimArgs, h *history) (victim, error) {
	return &inProcessVictim{localVictim: startLocalVictim(ctx, e, a, h), h: h, etcd: e}, nil
}

func (v *inProcessVictim) stop() error {
	events, _, _ := v.h.snapshot()
	var lease int64
	for _, e := range events {
		if e.Client == 0 && e.Op == opSession {
			lease = e.Lease
		}
	}
	ctx, cancel := v.etcd.WithTimeout(context.Background())
	defer cancel()
	_, err := v.etcd.Client.Revoke(ctx, clientv3.LeaseID(lease))
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return nil // it ran out first, on busy cores: gone either way
	}
	return err
}

// lockedWriter is one buffer for stdout and stderr, written from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
