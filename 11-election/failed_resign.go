package main

// Pitfall failed-resign (etcd-io/etcd#22123). Resign deletes the leader's
// key, and then forgets it, even when the delete failed (a timeout, a
// leader change in etcd). The program retries Resign, which now returns nil
// at once and deletes nothing: the key stays, and the candidate leads on,
// until its lease ends, while its program believes it has stepped down.

import (
	"context"
	"errors"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// leaderKey is the fix: the leader's key and its create revision, noted
// before Resign, which forgets them even when it fails.
type leaderKey struct {
	key string
	rev int64
}

func noteLeader(e *concurrency.Election) leaderKey { return leaderKey{e.Key(), e.Rev()} }

// resign is the retry that works: delete the noted key, while it is still
// the one the leader won with.
func (k leaderKey) resign(ctx context.Context, cli *clientv3.Client) error {
	_, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k.key), "=", k.rev)).
		Then(clientv3.OpDelete(k.key)).Commit()
	return err
}

func playFailedResign(ctx context.Context, s *stage) (broke, worked bool, err error) {
	for _, fixed := range []bool{false, true} {
		_, a, err := s.leading(ctx, "A")
		if err != nil {
			return false, false, err
		}
		noted := noteLeader(a)
		// A request that times out: here its deadline has passed before it is sent.
		late, cancel := context.WithTimeout(ctx, 0)
		firstErr := a.Resign(late)
		cancel()
		if !errors.Is(firstErr, context.DeadlineExceeded) {
			return false, false, errors.New("the first Resign should have timed out")
		}
		rctx, cancel := s.etcd.WithTimeout(ctx)
		if fixed {
			err = noted.resign(rctx, s.etcd.Client) // the retry deletes the noted key itself
		} else {
			err = a.Resign(rctx) // the retry
		}
		cancel()
		if err != nil {
			return false, false, err
		}
		_, value, leaderErr := s.leader(ctx)
		if !fixed {
			s.say("broken: A's Resign timed out; its retry returned nil at once;")
			s.say("        Leader() still says %q: A leads on, its program believing it stepped down", value)
			broke = leaderErr == nil && value == "A"
			s.cleanup(ctx)
			continue
		}
		s.say("fixed:  A noted Key() and Rev() before Resign; the retry deletes that key itself;")
		s.say("        Leader() says %q", leaderErr)
		worked = errors.Is(leaderErr, concurrency.ErrElectionNoLeader)
	}
	return broke, worked, nil
}
