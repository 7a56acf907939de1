package main

// Pitfall compacted-campaign (etcd-io/etcd#21128). While Campaign waits, it
// watches the key ahead of its own from the revision it read. If etcd has
// compacted its history past that revision in between, the watch fails with
// ErrCompacted, and Campaign returns the error, but leaves its key in etcd
// and forgets it (Resign then does nothing). The program goes on with its
// session, so the lease lives, and when the older keys go, that key leads:
// Leader() names a candidate that is not campaigning, a leader nobody runs.

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// withdraw is the fix: when Campaign fails, delete your key yourself, if it
// is still the one Campaign put (Key() and Rev() still name it).
func withdraw(ctx context.Context, cli *clientv3.Client, e *concurrency.Election) error {
	return noteLeader(e).resign(ctx, cli)
}

// compactingWatcher compacts etcd's history just before its first watch
// starts: the moment a compaction would have to land, made to happen.
type compactingWatcher struct {
	clientv3.Watcher
	kv   clientv3.KV
	done bool
}

func (w *compactingWatcher) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	if !w.done {
		w.done = true
		if resp, err := w.kv.Put(ctx, "/11-election-compaction", "x"); err == nil {
			w.kv.Compact(ctx, resp.Header.Revision)
			w.kv.Delete(ctx, "/11-election-compaction")
		}
	}
	return w.Watcher.Watch(ctx, key, opts...)
}

func playCompactedCampaign(ctx context.Context, s *stage) (broke, worked bool, err error) {
	if s.etcd.Shared() {
		s.say("skipped on an etcd named by -endpoints: it compacts etcd's history, which others share")
		return false, false, errSkipped
	}
	for _, fixed := range []bool{false, true} {
		_, a, err := s.leading(ctx, "A")
		if err != nil {
			return false, false, err
		}
		cli, err := s.etcd.Dial(ctx, s.etcd.Endpoints) // B's client: its first watch meets a compaction
		if err != nil {
			return false, false, err
		}
		s.clients = append(s.clients, cli)
		cli.Watcher = &compactingWatcher{Watcher: cli.Watcher, kv: s.etcd.Client}
		_, b, err := s.candidate(ctx, cli)
		if err != nil {
			return false, false, err
		}
		campaignErr := s.campaign(ctx, b, "B")
		if !isCompacted(campaignErr) {
			return false, false, fmt.Errorf("B's Campaign should have met the compaction, it returned %v", campaignErr)
		}
		if fixed {
			rctx, cancel := s.etcd.WithTimeout(ctx)
			err := withdraw(rctx, s.etcd.Client, b)
			cancel()
			if err != nil {
				return false, false, err
			}
		}
		rctx, cancel := s.etcd.WithTimeout(ctx)
		err = a.Resign(rctx)
		cancel()
		if err != nil {
			return false, false, err
		}
		_, value, leaderErr := s.leader(ctx)
		if !fixed {
			s.say("broken: B's Campaign failed: %v;", campaignErr)
			s.say("        A resigned; Leader() says the leader is %q, which no program campaigns for", value)
			broke = leaderErr == nil && value == "B"
			s.cleanup(ctx)
			continue
		}
		s.say("fixed:  B deletes its own key when Campaign fails; A resigned;")
		s.say("        Leader() says %q", leaderErr)
		worked = leaderErr != nil
	}
	return broke, worked, nil
}
