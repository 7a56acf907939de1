package cluster

import (
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/pkg/v3/proxy"
	"go.uber.org/zap"
)

// Network faults between the members of an Embedded cluster, as etcd's own tests
// inject them, for a chapter that checks a lock under faults.

// Partition cuts the member off from the other members, both ways: no raft
// message goes from it to them or from them to it, while its clients stay
// connected (its client door stays open; their requests that need a quorum
// wait for one). If it led, the others elect a new leader. It lasts until
// Heal, across a stop and a start.
//
// It is etcd's own partition of an in-process member (what the
// InjectPartition of etcd's integration tests does: CutPeer on both sides).
// The fault proxy in front of a member's peer port cannot do it here: that
// proxy sees only the connections the others open to the member, not those
// the member opens to them, and when we blackholed it a follower kept serving
// linearizable reads through those. etcd's robustness tests add a forward
// proxy to each member's process for its outgoing connections; members that
// share a process cannot have one each.
func (c *Embedded) Partition(name string) error {
	m, err := c.Member(name)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m.partitioned = true
	c.cutOrMend()
	return nil
}

// Slow delays the member's peer links by latency (± jitter) through etcd's
// fault proxy, which sits in front of its peer port (DelayTx, DelayRx): what
// it says to the other members arrives that much later, so every round trip
// with it (a heartbeat and its answer, a read index, a proposal and its
// commit) takes at least that much longer; past the election timeout, a slow
// leader is no longer heard in time. (The messages the others send it travel
// mostly on connections it opened to them, which the proxy does not see.)
// The proxy draws the delay once per call, within jitter of latency. It lasts
// until Heal, across a stop and a start.
func (c *Embedded) Slow(name string, latency, jitter time.Duration) error {
	m, err := c.Member(name)
	if err != nil {
		return err
	}
	if latency <= 0 || jitter < 0 {
		return fmt.Errorf("slow %s: latency must be positive and jitter not negative (got %s ± %s)", name, latency, jitter)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m.latency, m.jitter = latency, jitter
	if m.proxy != nil {
		c.applyFaults(m)
	}
	return nil
}

// Heal ends the member's partition and its slowness.
func (c *Embedded) Heal(name string) error {
	m, err := c.Member(name)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m.partitioned, m.latency, m.jitter = false, 0, 0
	c.cutOrMend()
	if m.proxy != nil {
		c.applyFaults(m)
	}
	return nil
}

// applyFaults sets a member's faults on the server and proxy it has just
// started with, or changes them on a running one. Called with c.mu held.
func (c *Embedded) applyFaults(m *Member) {
	if m.latency > 0 {
		m.proxy.DelayTx(m.latency, m.jitter)
		m.proxy.DelayRx(m.latency, m.jitter)
	} else {
		m.proxy.UndelayTx()
		m.proxy.UndelayRx()
	}
	c.cutOrMend()
}

// cutOrMend makes every running member drop the raft messages to and from a
// peer when either of the two is partitioned, and pass them otherwise.
func (c *Embedded) cutOrMend() {
	for _, m := range c.Members {
		if m.etcd == nil {
			continue
		}
		for _, other := range c.Members {
			if other == m || other.id == 0 {
				continue
			}
			if m.partitioned || other.partitioned {
				m.etcd.Server.CutPeer(other.id)
			} else {
				m.etcd.Server.MendPeer(other.id)
			}
		}
	}
}

// newPeerProxy starts etcd's fault proxy from a unix socket (no port to
// choose in advance, nothing on the network) to a member's peer port. The
// peer door relays to it.
func newPeerProxy(socket, peerAddr string) (proxy.Server, error) {
	p := proxy.NewServer(proxy.ServerConfig{
		Logger: zap.NewNop(),
		From:   url.URL{Scheme: "unix", Host: socket},
		To:     url.URL{Scheme: "tcp", Host: peerAddr},
	})
	select {
	case <-p.Ready():
	case err := <-p.Error():
		return nil, fmt.Errorf("fault proxy on %s: %w", socket, err)
	}
	// The proxy reports every broken connection on a channel of 16, and
	// stops relaying once it is full: read it until the proxy closes.
	go func() {
		for {
			select {
			case <-p.Error():
			case <-p.Done():
				return
			}
		}
	}()
	return p, nil
}
