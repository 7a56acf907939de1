package main

// Pitfall leader-after-expiry (as 07 shows for the lock). A leader is only
// the leader while its key lives. A leader that stalls (a pause, a cut) past
// its lease has lost the election, and another leads; when it wakes, it
// writes as the leader. The fix is 07's: fence every write with the
// leader's key, written only if that key still exists at the create
// revision it won with (Key(), Rev()); the stale leader's write is refused.

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// writeAsLeader is the fix: the write and the check that e still leads in
// one transaction.
func writeAsLeader(ctx context.Context, cli *clientv3.Client, e *concurrency.Election, key, value string) (bool, error) {
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(e.Key()), "=", e.Rev())).
		Then(clientv3.OpPut(key, value)).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

func playLeaderAfterExpiry(ctx context.Context, s *stage) (broke, worked bool, err error) {
	record := s.name + "/record" // not a candidate's key: no lease
	for _, fixed := range []bool{false, true} {
		aSession, a, err := s.leading(ctx, "A")
		if err != nil {
			return false, false, err
		}
		_, b, err := s.candidate(ctx, nil)
		if err != nil {
			return false, false, err
		}
		campaigned := make(chan error, 1)
		go func() { campaigned <- s.campaign(ctx, b, "B") }()
		if err := s.end(ctx, aSession); err != nil { // A stalls past its lease: its key goes
			return false, false, err
		}
		if err := <-campaigned; err != nil {
			return false, false, err
		}
		rctx, cancel := s.etcd.WithTimeout(ctx)
		defer cancel()
		if _, err := writeAsLeader(rctx, s.etcd.Client, b, record, "written by B, the leader"); err != nil {
			return false, false, err
		}
		var accepted bool
		if fixed {
			accepted, err = writeAsLeader(rctx, s.etcd.Client, a, record, "written by A, leader no more")
		} else {
			_, err = s.etcd.Client.Put(rctx, record, "written by A, leader no more") // A wakes and writes
			accepted = err == nil
		}
		if err != nil {
			return false, false, err
		}
		resp, err := s.etcd.Client.Get(rctx, record)
		if err != nil {
			return false, false, err
		}
		got := string(resp.Kvs[0].Value)
		if !fixed {
			s.say("broken: A's lease ended and B leads; A wakes and writes;")
			s.say("        the record says %q", got)
			broke = accepted && got == "written by A, leader no more"
			s.cleanup(ctx)
			continue
		}
		s.say("fixed:  A's write, fenced with its key (Key(), Rev()), is refused;")
		s.say("        the record says %q", got)
		worked = !accepted && got == "written by B, the leader"
	}
	return broke, worked, nil
}
