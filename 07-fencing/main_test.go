package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	workshoptest.Main(m, run) // the test binary plays client A
}

// Each act for real: client A is a process that freezes itself with SIGSTOP
// after reading, and B gets the lock only because A's keepalives stopped.
func TestActs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		act   string
		wantA string // A's write, after it resumes
		want  string // the referee's verdict
	}{ // act 2 uses an external etcd (-endpoints): A's process and B share it all the same
		{"1", "A: wrote count=1", "lost update: count=1 after 2 accepted increments"},
		{"2", "A: write of count=1 refused by etcd: A no longer owns /my-test-lock", "no update lost: count=1 after 1 accepted increment"},
		{"3", "A: write of count=1 refused by the storage: token ", "no update lost: count=1 after 1 accepted increment"},
	} {
		t.Run("act "+tc.act, func(t *testing.T) {
			t.Parallel()
			args := []string{"-act", tc.act, "-ttl", "1"}
			if tc.act == "2" {
				args = append(args, "-endpoints", workshoptest.Etcd(t).Endpoints[0])
			}
			var stdout, stderr bytes.Buffer
			require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
			out := stdout.String()

			// The timeline, in order: A stalls after its look at its session;
			// B locks, reads what A read, and writes; only then A writes.
			at := func(s string) int {
				i := strings.Index(out, s)
				require.GreaterOrEqual(t, i, 0, "no %q in:\n%s", s, out)
				return i
			}
			steps := []int{at("A: read count=0"), at("A: session alive"), at("A: stalls"),
				at("B: locked"), at("B: read count=0"), at("B: wrote count=1"),
				at("A resumes (SIGCONT)"), at(tc.wantA), at("A: lost the lock: session expired"), at(tc.want)}
			assert.IsIncreasing(t, steps, out)

			a, b := token(t, out, "A"), token(t, out, "B")
			assert.Less(t, a, b, "tokens grow from one holder to the next")
			if tc.act == "3" {
				assert.Contains(t, out, "token "+strconv.FormatInt(a, 10)+" is lower than "+strconv.FormatInt(b, 10))
			}
			assert.NotContains(t, stderr.String(), `"level"`, "no etcd JSON logs")
			if tc.act == "2" {
				assert.Contains(t, stderr.String(), "etcd: external etcd at "+args[len(args)-1])
			}
		})
	}
}

// newAct sets an act's stage on an etcd of the test's own, with the record at count=0.
func newAct(t *testing.T, fence Fence, ttl int) *Act {
	act := &Act{etcd: workshoptest.Etcd(t), fence: fence, ttl: ttl, out: &bytes.Buffer{}}
	closeStage, err := act.setStage(context.Background())
	require.NoError(t, err)
	t.Cleanup(closeStage)
	return act
}

func token(t *testing.T, out, holder string) int64 {
	m := regexp.MustCompile(holder + `: locked /my-test-lock \(token (\d+)\)`).FindStringSubmatch(out)
	require.NotNil(t, m, "no token for %s in:\n%s", holder, out)
	n, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	return n
}

// Many rounds of the acts in-process. A's lease is revoked where it stalls:
// that is what etcd's lessor does when a TTL runs out, without the wait. Two
// interleavings: B's whole increment inside A's stall, and B's read before
// A's late write with B's write after it (the reason the storage checks the
// token on reads too).
func TestFencesOverManyRounds(t *testing.T) {
	t.Parallel()
	const rounds = 20
	for _, fence := range []Fence{NoFence, EtcdFence, TokenFence} {
		t.Run(string(fence), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			act := newAct(t, fence, 60)
			var tokens []int64
			accepted, lostRounds, refused := 0, 0, 0
			for r := 0; r < rounds; r++ {
				a, err := act.Lock(ctx, "A")
				require.NoError(t, err)
				countA, err := a.Read(ctx)
				require.NoError(t, err)
				rctx, cancel := act.etcd.WithTimeout(ctx)
				_, err = act.etcd.Client.Revoke(rctx, a.session.Lease()) // A stalls past its TTL
				cancel()
				require.NoError(t, err)

				b, err := act.Lock(ctx, "B")
				require.NoError(t, err)
				countB, err := b.Read(ctx)
				require.NoError(t, err)
				var errA, errB error
				if r%2 == 0 {
					errB = b.Write(ctx, countB+1)
					errA = a.Write(ctx, countA+1)
				} else {
					errA = a.Write(ctx, countA+1)
					errB = b.Write(ctx, countB+1)
				}
				require.NoError(t, errB, "B holds the lock: its write must go through")
				b.Unlock(ctx)
				a.Unlock(ctx)
				tokens = append(tokens, a.Token, b.Token)

				accepted++
				if errA == nil {
					accepted++
				} else {
					assert.ErrorIs(t, errA, ErrRefused)
					refused++
				}
				count, err := act.count(ctx)
				require.NoError(t, err)
				if count < accepted {
					lostRounds++
					accepted = count // count each round's loss once
				}
			}
			if fence == NoFence {
				// The harness sees lost updates when there are some: every round, here.
				assert.Equal(t, rounds, lostRounds, "rounds with a lost update")
				assert.Zero(t, refused)
			} else {
				assert.Zero(t, lostRounds, "rounds with a lost update")
				assert.Equal(t, rounds, refused, "A's stale writes refused")
			}
			assert.IsIncreasing(t, tokens, "tokens across holders, in lock order")
		})
	}
}

// The holder's own guard: a holder that sees its session gone stops before
// writing. (It is not enough: TestActs shows a stall after this look.)
func TestHolderStopsOnceItsSessionIsGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	act := newAct(t, NoFence, 1)
	a, err := act.Lock(ctx, "A")
	require.NoError(t, err)
	defer a.Unlock(ctx)
	rctx, cancel := act.etcd.WithTimeout(ctx)
	_, err = act.etcd.Client.Revoke(rctx, a.session.Lease()) // as if its TTL ran out
	cancel()
	require.NoError(t, err)
	select {
	case <-a.session.Done(): // the next keepalive's answer tells the client
	case <-time.After(10 * time.Second):
		t.Fatal("session not done 10s after its lease was revoked")
	}

	err = a.Incr(ctx, func() { t.Error("stalled and went on to write without the lock") })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "A: lost the lock: session expired; not writing")
	count, err := act.count(ctx)
	require.NoError(t, err)
	assert.Zero(t, count)
}

// A client whose TryLock failed (another session holds the lock) holds
// nothing, so its writes must not pass either fence: etcd's Mutex keeps
// IsOwner shut ("\x00", -1) and so has no token: none at all from a new
// Mutex (no header), and none from one that held the lock before (its old
// header stays). The storage refuses a write without a token even before it
// has seen any token.
func TestFailedTryLockIsRefused(t *testing.T) {
	t.Parallel()
	for _, fence := range []Fence{EtcdFence, TokenFence} {
		for _, heldBefore := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s fence, held before %v", fence, heldBefore), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				act := newAct(t, fence, 60)
				rctx, cancel := act.etcd.WithTimeout(ctx)
				defer cancel()

				session, err := act.etcd.NewSession(ctx, act.ttl)
				require.NoError(t, err)
				mutex := concurrency.NewMutex(session, lockName)
				if heldBefore {
					require.NoError(t, mutex.TryLock(rctx))
					require.NoError(t, mutex.Unlock(rctx))
				}
				b, err := act.Lock(ctx, "B")
				require.NoError(t, err)
				defer b.Unlock(ctx)
				require.ErrorIs(t, mutex.TryLock(rctx), concurrency.ErrLocked)
				c := act.holder("C", session, mutex)
				defer c.Unlock(ctx)
				assert.Zero(t, c.Token, "a failed TryLock has no token")

				assert.ErrorIs(t, c.Write(ctx, 7), ErrRefused, "C's write before B's")
				require.NoError(t, b.Write(ctx, 1), "B holds the lock: its write goes through")
				assert.ErrorIs(t, c.Write(ctx, 7), ErrRefused, "C's write after B's")
				_, err = c.Read(ctx)
				if fence == TokenFence {
					assert.ErrorIs(t, err, ErrRefused, "C's read: no token")
				}
				count, err := act.count(ctx)
				require.NoError(t, err)
				assert.Equal(t, 1, count, "only B's write landed")
			})
		}
	}
}

// As a learner meets them: bad flags exit 2 with usage, a dead etcd exits 1 in time.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "bad flag", Args: []string{"-ttl", "soon"}, Status: 2, Says: "Usage of 07-fencing"},
		workshoptest.ExitCase{Name: "bad act", Args: []string{"-act", "4"}, Status: 2, Says: "-act: must be 0 to 3"},
		workshoptest.ExitCase{Name: "negative act", Args: []string{"-act", "-1"}, Status: 2, Says: "Usage of 07-fencing"},
		workshoptest.ExitCase{Name: "no ttl", Args: []string{"-ttl", "0"}, Status: 2, Says: "-ttl: must be 1 to 60"},
		workshoptest.ExitCase{Name: "huge ttl", Args: []string{"-ttl", "9000000000"}, Status: 2, Says: "-ttl: must be 1 to 60"},
		workshoptest.ExitCase{Name: "child's setting", Args: []string{"-role", "a"}, Status: 2, Says: "flag provided but not defined: -role"},
		workshoptest.Unreachable(t),
	)
}

// What passes between the program and client A's process is no flag a learner sees.
func TestHelpShowsNoChildSettings(t *testing.T) {
	out, status := workshoptest.Exit(t, "-help")
	assert.Equal(t, 0, status, out)
	assert.Contains(t, out, "-ttl")
	for _, internal := range []string{"-role", "-fence", "-storage", "internal"} {
		assert.NotContains(t, out, internal)
	}
}

// The README's output blocks, from real runs. Tokens vary with what etcd has
// seen; the timeline's order and the verdict lines do not.
func TestREADME(t *testing.T) {
	t.Parallel()
	workshoptest.CheckREADMEs(t, run,
		workshoptest.R(`token \d+`, "token <n>"),
		workshoptest.R(`lower than \d+`, "lower than <n>"),
	)
}

// In a shared etcd where another program holds the lock, A could never be
// first: say so at once, instead of waiting for A to stall. On a shared etcd
// the chapter's keys are the learner's own (/learners/NAME/...), so that
// program is the learner's too, or one run with -namespace "".
func TestLockHeldByAnotherProgram(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	workshoptest.HoldLock(t, etcd, workshop.LearnersPrefix+"dana"+lockName)

	start := time.Now()
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-endpoints", etcd.Endpoints[0], "-name", "dana"}, &bytes.Buffer{}, &stderr)
	assert.ErrorContains(t, err, "/my-test-lock is held by another program (key /my-test-lock/")
	assert.Less(t, time.Since(start), 10*time.Second, "at once, not after a wait for A")
}
