package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Health is a cluster as its members describe it.
type Health struct {
	Members []string // every member, by name, from the member list, sorted
	Down    []string // members that no endpoint answered for, sorted
	Leader  string   // the leader every member that answered names; "" if none, or if they disagree
}

// Whole reports whether every member answered and they agree on a leader:
// the state in which a chapter may crash one.
func (h Health) Whole() bool { return len(h.Down) == 0 && h.Leader != "" }

// CheckHealth asks every endpoint for its member's status (no quorum needed)
// and the member list, within timeout.
func CheckHealth(ctx context.Context, cli *clientv3.Client, endpoints []string, timeout time.Duration) (Health, error) {
	var h Health
	statuses := statusOf(ctx, cli, endpoints, timeout)
	answered := map[uint64]bool{}
	leaders := map[uint64]bool{}
	for st := range statuses {
		if st != nil {
			answered[st.Header.MemberId] = true
			leaders[st.Leader] = true
		}
	}
	if len(answered) == 0 {
		return h, fmt.Errorf("no member answered at %v within %s", endpoints, timeout)
	}
	mctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Serializable: a member answers from its own copy, no quorum needed.
	list, err := cli.MemberList(mctx, clientv3.WithSerializable())
	if err != nil {
		return h, fmt.Errorf("member list: %w", err)
	}
	members := slices.SortedFunc(slices.Values(list.Members), func(a, b *etcdserverpb.Member) int { return strings.Compare(a.Name, b.Name) })
	for _, m := range members {
		h.Members = append(h.Members, m.Name)
		if !answered[m.ID] {
			h.Down = append(h.Down, m.Name)
		}
		if len(leaders) == 1 && leaders[m.ID] {
			h.Leader = m.Name
		}
	}
	return h, nil
}

// statusOf asks each endpoint for its status at once and sends the answers
// as they come, one per endpoint, nil for none; it closes the channel at the
// end. A stopped member's answer never comes: the timeout ends it.
func statusOf(ctx context.Context, cli *clientv3.Client, endpoints []string, timeout time.Duration) <-chan *clientv3.StatusResponse {
	answers := make(chan *clientv3.StatusResponse, len(endpoints))
	sctx, cancel := context.WithTimeout(ctx, timeout)
	var wg sync.WaitGroup
	for _, ep := range endpoints {
		wg.Go(func() {
			st, err := cli.Status(sctx, ep)
			if err != nil {
				st = nil
			}
			answers <- st
		})
	}
	go func() {
		wg.Wait()
		cancel()
		close(answers)
	}()
	return answers
}

// Leader returns the name of the member that most members call their
// leader, or "" if no majority of them names the same one (no quorum, or an
// election under way). It needs no quorum itself, so it answers in any state
// within about twice the timeout, and as soon as a majority agrees.
func Leader(ctx context.Context, cli *clientv3.Client, endpoints []string, timeout time.Duration) (string, error) {
	// A member that has just crashed may still answer with its old view, and
	// followers name the old leader until they miss it: count votes.
	votes := map[uint64]int{}
	var leader uint64
	for st := range statusOf(ctx, cli, endpoints, timeout) {
		if st != nil && st.Leader != 0 {
			if votes[st.Leader]++; 2*votes[st.Leader] > len(endpoints) {
				leader = st.Leader
				break // the others' answers are not needed
			}
		}
	}
	if leader == 0 {
		return "", nil
	}
	mctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	list, err := cli.MemberList(mctx, clientv3.WithSerializable())
	if err != nil {
		return "", fmt.Errorf("member list: %w", err)
	}
	for _, m := range list.Members {
		if m.ID == leader {
			return m.Name, nil
		}
	}
	return "", fmt.Errorf("leader %x is not in the member list", leader)
}
