package main

// Pitfall retried-unlock (etcd-io/etcd#22082). etcd's Mutex.Unlock deletes
// its key by name, and the name is the session's: /my-test-lock/<lease>. A
// program whose Unlock returns an error is right to retry it later: it
// cannot tell a delete that failed from one whose answer was lost. But if
// the delete did go through, and meanwhile the same session has locked again
// (the next job, another goroutine), the retry deletes that new lock, under
// the feet of a holder that believes it still has it.

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/lock"
)

// mutex is what etcd's concurrency.Mutex and the workshop's lock.Mutex both offer.
type mutex interface {
	Lock(ctx context.Context) error
	TryLock(ctx context.Context) error
	Unlock(ctx context.Context) error
	Key() string
}

// etcdMutex is the lock with the flaw: its Unlock deletes the key by name.
func etcdMutex(s *concurrency.Session) mutex { return concurrency.NewMutex(s, lockName) }

// workshopLock is the fix: its Unlock deletes the key only if the key's
// create revision is still the one it locked with, in one transaction
// (Txn If(CreateRevision(key) == myRev) Then(Delete(key))).
func workshopLock(s *concurrency.Session) mutex { return lock.NewMutex(s, lockName) }

// twoJobs runs two jobs, one after the other, on one session, each under the
// lock. Job 1's Unlock loses its answer, and job 1 retries it once job 2 has
// the lock. Then B, another session, tries the lock.
func twoJobs(ctx context.Context, p *Play, room *Room, newMutex func(*concurrency.Session) mutex) error {
	session, network, err := p.LossySession(ctx)
	if err != nil {
		return err
	}
	job1 := newMutex(session)
	if err := job1.Lock(ctx); err != nil {
		return err
	}
	p.Logf("job 1: locked %s", job1.Key())
	network.LoseNextAnswer()
	err = job1.Unlock(ctx)
	p.Logf("job 1: Unlock: %v (etcd did delete the key; the answer was lost): retry later", err)

	job2 := newMutex(session)
	if err := job2.Lock(ctx); err != nil {
		return err
	}
	room.Enter()
	p.Logf("job 2: locked %s: the same key, the same session", job2.Key())
	err = job1.Unlock(ctx) // the retry
	p.Logf("job 1: Unlock, retried: %s; job 2's key %s", orOK(err), p.Still(ctx, job2.Key()))

	other, err := p.Session(ctx, nil, 60)
	if err != nil {
		return err
	}
	b := newMutex(other)
	if err := b.TryLock(ctx); err != nil {
		p.Logf("B: TryLock: %v", err)
	} else {
		inside := room.Enter()
		p.Logf("B: TryLock: locked %s, while job 2 believes it holds the lock: %d holders inside", b.Key(), inside)
		room.Leave()
		if err := b.Unlock(ctx); err != nil {
			return err
		}
	}
	room.Leave()
	p.Logf("job 2: Unlock: %s", orOK(job2.Unlock(ctx)))
	return nil
}

func orOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// playRetriedUnlock runs the two jobs with etcd's Mutex, then with the workshop's lock.
func playRetriedUnlock(ctx context.Context, p *Play) (Outcome, error) {
	p.Section("broken: etcd's Mutex; its Unlock deletes %s/<lease> by name", lockName)
	broken := p.NewRoom(ctx, 0)
	if err := twoJobs(ctx, p, broken, etcdMutex); err != nil {
		return Outcome{}, err
	}
	p.Section("fixed: the workshop's lock (internal/lock); its Unlock deletes the key only if it is still its own")
	fixed := p.NewRoom(ctx, 0)
	if err := twoJobs(ctx, p, fixed, workshopLock); err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Saw:    fmt.Sprintf("the retried Unlock deleted job 2's key, and B got in: %s inside at once", holders(broken.Most())),
		Why:    "the retry deleted the key by its name, which job 2's lock had too",
		Broke:  broken.Most() > 1,
		Fixed:  fmt.Sprintf("the retry deleted nothing, B did not get in: %s at a time", holders(fixed.Most())),
		Worked: fixed.Most() == 1,
	}, nil
}
