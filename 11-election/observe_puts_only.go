package main

// Pitfall observe-puts-only (etcd's client/v3/concurrency/election.go,
// observe: "only accept puts"). Observe sends the leader's value on each
// put; when the leader's key goes and no one else campaigns, it sends
// nothing. An observer that takes the last value it got for the leader
// believes a leader that is gone, for as long as nobody campaigns.

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// silence is how long the broken observer is shown hearing nothing.
const silence = time.Second

// leaderNow is the fix: ask Leader() when it matters (or watch the
// election's prefix for deletes too): ErrElectionNoLeader says no one leads.
func leaderNow(ctx context.Context, e *concurrency.Election) (string, error) {
	resp, err := e.Leader(ctx)
	if err != nil {
		return "", err
	}
	return string(resp.Kvs[0].Value), nil
}

func playObservePutsOnly(ctx context.Context, s *stage) (broke, worked bool, err error) {
	oSession, _, err := s.candidate(ctx, nil) // the observer: a session, no campaign
	if err != nil {
		return false, false, err
	}
	observer := concurrency.NewElection(oSession, s.name)
	_, a, err := s.leading(ctx, "A")
	if err != nil {
		return false, false, err
	}
	octx, stop := context.WithCancel(ctx)
	defer stop()
	observed := observer.Observe(octx)
	select {
	case _, ok := <-observed:
		if !ok {
			return false, false, observeStopped(ctx)
		}
	case <-time.After(patience):
		return false, false, errors.New("the observer never saw A lead")
	}
	rctx, cancel := s.etcd.WithTimeout(ctx)
	err = a.Resign(rctx)
	cancel()
	if err != nil {
		return false, false, err
	}
	select {
	case resp, ok := <-observed:
		if !ok {
			return false, false, observeStopped(ctx)
		}
		s.say("broken: A resigned, and Observe sent %q", resp.Kvs[0].Value)
	case <-time.After(silence):
		s.say("broken: A resigned; %s later Observe had sent nothing: the observer still believes A", silence)
		broke = true
	}
	rctx, cancel = s.etcd.WithTimeout(ctx)
	_, leaderErr := leaderNow(rctx, observer)
	cancel()
	s.say("fixed:  the observer asks Leader(): %q", leaderErr)
	worked = errors.Is(leaderErr, concurrency.ErrElectionNoLeader)
	return broke, worked, nil
}

// observeStopped says why Observe closed its channel: ctx ended (Ctrl-C),
// or its read or watch failed.
func observeStopped(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("Observe stopped: its read or watch of the election failed")
}
