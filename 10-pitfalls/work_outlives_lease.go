package main

// Pitfall work-outlives-lease (etcd-io/etcd#10811). A holder keeps the lock
// only as long as its lease lives, and the lease only as long as its
// keepalives get through. Work that goes on past that (a network cut, a long
// GC pause) goes on without the lock: etcd has handed it to the next waiter,
// and two holders write. 07-fencing tells the whole story; here is the short
// one, and the one-line check that helps, but not enough.

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// blind is A the article's way: read, work, write. It never looks at its session.
func blind(a *Holder) {
	n := a.Read()
	a.Work() // longer than A's lease lasts
	a.Write(n + 1)
}

// checked is the fix: one look at the session before the write.
func checked(a *Holder) {
	n := a.Read()
	a.Work()
	select {
	case <-a.Session.Done():
		a.Refuse("its session is done: the lease is gone, and the lock with it")
		return
	default:
	}
	a.Write(n + 1)
}

// checkedThenPaused looks too, but a pause comes between the look and the
// write (a GC pause, a SIGSTOP, a slow disk), and the look cannot see it.
// Only a fence on the write itself can: 07-fencing.
func checkedThenPaused(a *Holder) {
	n := a.Read()
	select {
	case <-a.Session.Done():
		a.Refuse("its session is done: the lease is gone, and the lock with it")
		return
	default:
	}
	a.Pause() // right after the look: as long as the lease
	a.Write(n + 1)
}

// playWorkOutlivesLease has A lock, read the count, and stall long enough for
// its lease to go; meanwhile B locks and increments the count; then A goes on.
func playWorkOutlivesLease(ctx context.Context, p *Play) (Outcome, error) {
	p.Section("broken: A works longer than its lease lasts, and never looks at its session")
	broken, err := p.holdAndWork(ctx, blind)
	if err != nil {
		return Outcome{}, err
	}
	p.Section("fixed: A looks at session.Done() before it writes")
	fixed, err := p.holdAndWork(ctx, checked)
	if err != nil {
		return Outcome{}, err
	}
	p.Section("not enough: A looks, then a pause comes before its write (the whole story: 07-fencing)")
	paused, err := p.holdAndWork(ctx, checkedThenPaused)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Saw:   fmt.Sprintf("A wrote after its lease was gone: count=%d after %s", broken.Count(), increments(broken.Writes())),
		Why:   "B had the lock by then, and A's write overwrote B's",
		Broke: broken.Count() < int64(broken.Writes()) && paused.Count() < int64(paused.Writes()),
		Fixed: fmt.Sprintf("A did not write: count=%d after %s; with a pause after the look, count=%d after %s again",
			fixed.Count(), increments(fixed.Writes()), paused.Count(), increments(paused.Writes())),
		Worked: fixed.Count() == int64(fixed.Writes()),
	}, nil
}

// Holder is A in the middle of its work under the lock.
type Holder struct {
	p       *Play
	ctx     context.Context
	Session *concurrency.Session
	room    *Room
	err     error // the stall's, if the stage broke
}

// Read and Write are A's increment of the shared count.
func (a *Holder) Read() int64 {
	n := a.room.Read()
	a.p.Logf("A: read count=%d", n)
	return n
}

func (a *Holder) Write(n int64) {
	a.room.Write(n)
	a.p.Logf("A: wrote count=%d", n)
}

func (a *Holder) Refuse(why string) { a.p.Logf("A: does not write: %s", why) }

// Work and Pause are the same stall, before and after A's look at its session.
func (a *Holder) Work() { a.stall("A: works (longer than its lease lasts)") }
func (a *Holder) Pause() {
	a.stall("A: session alive, still the holder: but A is paused before its write")
}

// stall lasts until A's lease is gone (etcd expires it, as when A's
// keepalives stop for a TTL), B has locked and incremented the count, and
// A's session has noticed.
func (a *Holder) stall(what string) {
	a.p.Logf("%s", what)
	if a.err = a.p.Expire(a.ctx, a.Session); a.err != nil {
		return
	}
	a.p.Logf("A's lease is revoked, as etcd does once A's keepalives have stopped for a TTL: A's key is deleted")
	if a.err = a.p.incrementAsB(a.ctx, a.room); a.err != nil {
		return
	}
	select {
	case <-a.Session.Done():
	case <-time.After(patience):
		a.err = fmt.Errorf("A's session still not done %s after its lease went", patience)
	case <-a.ctx.Done():
		a.err = a.ctx.Err()
	}
}

// holdAndWork stages one play: A, with a session of its own, locks and runs work.
func (p *Play) holdAndWork(ctx context.Context, work func(*Holder)) (*Room, error) {
	room := p.NewRoom(ctx, 0)
	_, session, err := p.Holder(ctx, "A", waiterTTL) // a short TTL: its session notices a lost lease soon
	if err != nil {
		return nil, err
	}
	a := &Holder{p: p, ctx: ctx, Session: session, room: room}
	work(a)
	if a.err != nil {
		return nil, a.err
	}
	p.Logf("count=%d after %s", room.Count(), increments(room.Writes()))
	return room, nil
}

// incrementAsB is B: another session, which locks, increments and unlocks.
func (p *Play) incrementAsB(ctx context.Context, room *Room) error {
	m, _, err := p.Holder(ctx, "B", 60)
	if err != nil {
		return err
	}
	n := room.Read()
	room.Write(n + 1)
	p.Logf("B: read count=%d, wrote count=%d", n, n+1)
	return m.Unlock(ctx)
}

func increments(n int) string {
	if n == 1 {
		return "1 increment"
	}
	return fmt.Sprintf("%d increments", n)
}
