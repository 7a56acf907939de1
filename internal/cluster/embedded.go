// Package cluster is a real etcd cluster that a chapter breaks on purpose:
// three members embedded in this process, which a chapter crashes and
// restarts (Stop, Start), cuts off from the others (Partition), slows down
// (Slow) and heals (Heal); or, with -endpoints, the docker compose cluster,
// whose members it crashes with docker (see Open). Health says which
// members answer and who leads; Cluster.Restore starts again what a chapter
// crashed, even after Ctrl-C.
//
// Each member sits behind two doors (see door.go), one for clients and one
// for its peers, so that its URLs outlive a restart and a crash cuts every
// connection at once; between the peer door and the member runs etcd's own
// fault proxy (go.etcd.io/etcd/pkg/v3/proxy), which slows its links.
package cluster

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/pkg/v3/proxy"
	"go.etcd.io/etcd/server/v3/embed"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

// Timing is the raft timing of an embedded cluster. A single member can
// tick every 10 ms; three members under -race on two busy cores miss 100 ms
// election timeouts and elect spurious leaders, so a cluster ticks slower.
var Timing = workshop.EmbeddedOptions{TickMs: 50, ElectionMs: 500}

// Embedded is a real etcd cluster of embedded members, in this process, on
// loopback ports, with its data in a temp dir that Close removes.
type Embedded struct {
	Members []*Member
	dir     string
	initial string // the initial-cluster setting: name=peer URL,...
	opt     workshop.EmbeddedOptions

	mu sync.Mutex // guards the members' state below
}

// Member is one member of an Embedded cluster. ClientURL stays the same across a stop
// and a start, as a machine's address would.
type Member struct {
	Name      string
	ClientURL string
	dir       string
	client    *door // clients -> the member's client port
	peer      *door // the other members -> the fault proxy -> its peer port
	socket    string

	// Guarded by the cluster's mu.
	etcd        *embed.Etcd   // nil while stopped
	grpc        *grpcServers  // its client gRPC servers, while running
	proxy       proxy.Server  // nil while stopped
	closed      chan struct{} // closed once a stopped member has let go of its data
	id          types.ID      // its raft id, known from its first start
	partitioned bool
	latency     time.Duration // added to its peer links by Slow
	jitter      time.Duration
}

// Start starts size members named etcd1, etcd2... and returns once all
// of them serve clients (a leader has been elected), or fails in time.
func StartEmbedded(ctx context.Context, size int, opt workshop.EmbeddedOptions) (*Embedded, error) {
	dir, err := cli.TempDir("cluster")
	if err != nil {
		return nil, err
	}
	c := &Embedded{dir: dir, opt: opt}
	var initial []string
	for i := range size {
		m := &Member{Name: fmt.Sprintf("etcd%d", i+1)}
		m.dir = filepath.Join(dir, m.Name)
		// Short: a unix socket's path has a limit (104 bytes on macOS).
		m.socket = filepath.Join(dir, fmt.Sprintf("p%d", i+1))
		c.Members = append(c.Members, m)
		// The doors open on free ports first: members must know each
		// other's peer URLs before any of them starts.
		if m.client, err = newDoor(); err == nil {
			m.peer, err = newDoor()
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		m.ClientURL = m.client.URL
		initial = append(initial, m.Name+"="+m.peer.URL)
	}
	c.initial = strings.Join(initial, ",")
	c.mu.Lock()
	for _, m := range c.Members {
		if err = c.launch(m); err != nil {
			break
		}
	}
	c.mu.Unlock()
	for _, m := range c.Members {
		if err == nil {
			err = c.waitReady(ctx, m)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// launch starts m's server behind its doors, without waiting for it to join:
// a member of a new cluster is ready only once a majority has started. It is
// called with c.mu held.
func (c *Embedded) launch(m *Member) error {
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = m.Name, m.dir
	free, _ := url.Parse("http://127.0.0.1:0")
	client, _ := url.Parse(m.client.URL)
	peer, _ := url.Parse(m.peer.URL)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*free}, []url.URL{*client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*free}, []url.URL{*peer}
	// Used on the first start only: a restarted member finds its cluster in its data.
	cfg.InitialCluster, cfg.InitialClusterToken = c.initial, "etcd-lock-workshop"
	cfg.TickMs, cfg.ElectionMs = Timing.TickMs, Timing.ElectionMs
	if c.opt.TickMs > 0 {
		cfg.TickMs, cfg.ElectionMs = c.opt.TickMs, c.opt.ElectionMs
	}
	cfg.UnsafeNoFsync = !workshop.Fsync
	workshop.Silence(cfg)
	servers := &grpcServers{}
	cfg.ServiceRegister = servers.add
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	m.grpc = servers
	p, err := newPeerProxy(m.socket, e.Peers[0].Addr().String())
	if err != nil {
		e.Server.HardStop()
		e.Close()
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	m.etcd, m.proxy, m.closed, m.id = e, p, nil, e.Server.MemberID()
	c.applyFaults(m)
	m.client.open("tcp", e.Clients[0].Addr().String())
	m.peer.open("unix", m.socket)
	return nil
}

// waitReady returns once m serves clients, or its start fails, or 30 s pass.
func (c *Embedded) waitReady(ctx context.Context, m *Member) error {
	c.mu.Lock()
	e := m.etcd
	c.mu.Unlock()
	if e == nil {
		return fmt.Errorf("%s is stopped", m.Name)
	}
	select {
	case <-e.Server.ReadyNotify():
		return nil
	case err := <-e.Err():
		return fmt.Errorf("%s failed: %w", m.Name, err)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s not ready after 30s: is a majority of the members up?", m.Name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Endpoints are the members' client URLs, for a client or -endpoints.
func (c *Embedded) Endpoints() []string {
	var urls []string
	for _, m := range c.Members {
		urls = append(urls, m.ClientURL)
	}
	return urls
}

// Member returns the member with this name.
func (c *Embedded) Member(name string) (*Member, error) {
	for _, m := range c.Members {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no member %q in this cluster", name)
}

// Running reports whether the member is running (not stopped).
func (c *Embedded) Running(name string) bool {
	m, err := c.Member(name)
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return m.etcd != nil
}

// Stop crashes the member and returns the moment it died: it stops talking
// to its peers, its doors drop every connection at once and let nothing in,
// and raft stops dead (HardStop), with no goodbye and no leadership
// hand-over (a graceful Close would hand leadership over first and hide the
// election). The doors close first because etcd, once stopped, would serve
// requests still arriving from its closed database, and panic.
func (c *Embedded) Stop(ctx context.Context, name string) (time.Time, error) {
	m, err := c.Member(name)
	if err != nil {
		return time.Time{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.etcd == nil {
		return time.Time{}, fmt.Errorf("%s is already stopped", name)
	}
	died := c.kill(m)
	return died, nil
}

// kill crashes a running member; the remains (listeners, files) go in the
// background, and closed says when they are gone. Called with c.mu held.
func (c *Embedded) kill(m *Member) (died time.Time) {
	e, p, closed := m.etcd, m.proxy, make(chan struct{})
	m.etcd, m.proxy, m.closed = nil, nil, closed
	// A dead machine sends nothing more: without this, the dying leader's
	// heartbeats could still reach the others until HardStop returns.
	for _, other := range c.Members {
		if other != m {
			e.Server.CutPeer(other.id)
		}
	}
	m.peer.shut()
	m.client.shut()
	died = time.Now()
	// A request already inside the server when it stops would read a closed
	// backend, and etcd panics (a nil bbolt Tx; etcd-io/etcd#6662): let those
	// finish first. The doors are shut, so nothing new comes in meanwhile.
	m.grpc.drain(time.Second)
	e.Server.HardStop()
	go func() {
		p.Close() // returns once the connections the doors cut have ended
		e.Close()
		close(closed)
	}()
	return died
}

// Start restarts a stopped member with its data, behind the same doors, and
// returns once it serves clients, which needs a majority of members up. A
// member that is already running is only waited for. A partitioned member
// cannot be ready until it is healed: Start does not wait for it.
func (c *Embedded) Start(ctx context.Context, name string) error {
	m, err := c.Member(name)
	if err != nil {
		return err
	}
	c.mu.Lock()
	running, closed, partitioned := m.etcd != nil, m.closed, m.partitioned
	c.mu.Unlock()
	if !running {
		if closed != nil {
			select {
			case <-closed: // its data files are free again
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c.mu.Lock()
		if m.etcd == nil {
			err = c.launch(m)
		}
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if partitioned {
		return nil
	}
	return c.waitReady(ctx, m)
}

// Close stops every member, closes the doors and removes the cluster's data.
// The members are killed, not stopped gracefully: a leader would try to hand
// over to members that are stopping too, and wait seconds for it.
func (c *Embedded) Close() {
	var remains []chan struct{}
	c.mu.Lock()
	for _, m := range c.Members {
		if m.etcd != nil {
			c.kill(m)
		}
		if m.closed != nil {
			remains = append(remains, m.closed)
		}
	}
	c.mu.Unlock()
	for _, closed := range remains {
		<-closed
	}
	for _, m := range c.Members {
		for _, d := range []*door{m.client, m.peer} {
			if d != nil {
				d.close()
			}
		}
	}
	os.RemoveAll(c.dir)
}
