package main

// Pitfall campaign-after-expiry (etcd-io/etcd#22387, open). Campaign waits
// for every older key to go, then returns nil: you lead. It never looks at
// its own key: if the candidate's lease ended while it waited (a pause, a
// network cut), its key went with it, and Campaign still says you lead.
// etcd's Mutex.Lock checks since #19597; Campaign does not.

import (
	"context"
	"errors"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// stillLeads is the fix: after Campaign, read your own key. It leads only
// if it is still there, created at the revision Campaign put it (Rev()).
func stillLeads(ctx context.Context, cli *clientv3.Client, e *concurrency.Election) (bool, error) {
	resp, err := cli.Get(ctx, e.Key())
	if err != nil {
		return false, err
	}
	return len(resp.Kvs) == 1 && resp.Kvs[0].CreateRevision == e.Rev(), nil
}

func playCampaignAfterExpiry(ctx context.Context, s *stage) (broke, worked bool, err error) {
	for _, fixed := range []bool{false, true} {
		_, a, err := s.leading(ctx, "A")
		if err != nil {
			return false, false, err
		}
		bSession, b, err := s.candidate(ctx, nil)
		if err != nil {
			return false, false, err
		}
		campaigned := make(chan error, 1)
		go func() { campaigned <- s.campaign(ctx, b, "B") }()
		if err := waitForKeys(ctx, s, 2); err != nil {
			return false, false, err
		}
		if err := s.end(ctx, bSession); err != nil { // B's lease ends while B waits behind A
			return false, false, err
		}
		rctx, cancel := s.etcd.WithTimeout(ctx)
		err = a.Resign(rctx) // the older key goes: B's Campaign returns
		cancel()
		if err != nil {
			return false, false, err
		}
		if err := <-campaigned; err != nil {
			return false, false, err
		}
		_, _, leaderErr := s.leader(ctx)
		if !fixed {
			s.say("broken: B's lease ended while it waited; A resigned; B's Campaign returned nil, \"you lead\";")
			s.say("        but Leader() says %q: B would act as the leader of nothing", leaderErr)
			broke = errors.Is(leaderErr, concurrency.ErrElectionNoLeader)
			s.cleanup(ctx)
			continue
		}
		rctx, cancel = s.etcd.WithTimeout(ctx)
		leads, err := stillLeads(rctx, s.etcd.Client, b)
		cancel()
		if err != nil {
			return false, false, err
		}
		s.say("fixed:  after Campaign, B reads its own key (Key(), created at Rev()): gone, so B does not lead")
		worked = !leads
	}
	return broke, worked, nil
}

// waitForKeys returns once the pitfall's election has n keys.
func waitForKeys(ctx context.Context, s *stage, n int) error {
	return waitForPrefix(ctx, s.etcd, s.name, n)
}
