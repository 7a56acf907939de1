// Package cluster is a real etcd cluster whose members a chapter crashes and
// restarts: three embedded members in this process, or the docker compose
// cluster with -endpoints.
package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"

	"etcd-lock-workshop/internal/compose"
	"etcd-lock-workshop/internal/workshop"
)

// Members stops and starts the members of an etcd cluster by name, so that a
// chapter can show what a lock does when they fail: an embedded Cluster, or
// the docker compose cluster (Compose).
type Members interface {
	// Stop crashes a member (no goodbye to the others, no leadership
	// hand-over) and returns the moment it died.
	Stop(ctx context.Context, name string) (died time.Time, err error)
	// Start starts a stopped member again, with the data it had.
	Start(ctx context.Context, name string) error
}

// Timing is the raft timing of an embedded cluster. A single member can
// tick every 10 ms; three members under -race on two busy cores miss 100 ms
// election timeouts and elect spurious leaders, so a cluster ticks slower.
var Timing = workshop.EmbeddedOptions{TickMs: 50, ElectionMs: 500}

// Cluster is a real etcd cluster of embedded members, in this process, on
// loopback ports, with its data in a temp dir that Close removes.
type Cluster struct {
	Members []*Member
	dir     string
	initial string // the initial-cluster setting: name=peer URL,...
	opt     workshop.EmbeddedOptions
}

// Member is one member of a Cluster. Clients and the other members reach it
// through two doors (see door) whose addresses outlive a stop and a start, as
// a machine's address would.
type Member struct {
	Name      string
	ClientURL string
	dir       string
	client    *door
	peer      *door

	mu     sync.Mutex
	etcd   *embed.Etcd   // nil while stopped
	closed chan struct{} // closed once a stopped member has let go of its data
}

// Start starts size members named etcd1, etcd2... and returns once all
// of them serve clients (a leader has been elected), or fails in time.
func Start(ctx context.Context, size int, opt workshop.EmbeddedOptions) (*Cluster, error) {
	dir, err := workshop.TempDir("cluster")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, opt: opt}
	var initial []string
	for i := range size {
		m := &Member{Name: fmt.Sprintf("etcd%d", i+1)}
		m.dir = filepath.Join(dir, m.Name)
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
	for _, m := range c.Members {
		if err := c.launch(m); err != nil {
			c.Close()
			return nil, err
		}
	}
	for _, m := range c.Members {
		if err := m.waitReady(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// launch starts m's server behind its doors, without waiting for it to join:
// a member of a new cluster is ready only once a majority has started.
func (c *Cluster) launch(m *Member) error {
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
	workshop.Silence(cfg)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	m.client.open(e.Clients[0].Addr().String())
	m.peer.open(e.Peers[0].Addr().String())
	m.mu.Lock()
	m.etcd, m.closed = e, nil
	m.mu.Unlock()
	return nil
}

// waitReady returns once m serves clients, or its start fails, or 30 s pass.
func (m *Member) waitReady(ctx context.Context) error {
	m.mu.Lock()
	e := m.etcd
	m.mu.Unlock()
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
func (c *Cluster) Endpoints() []string {
	var urls []string
	for _, m := range c.Members {
		urls = append(urls, m.ClientURL)
	}
	return urls
}

func (c *Cluster) member(name string) (*Member, error) {
	for _, m := range c.Members {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no member %q in this cluster", name)
}

// Stop crashes the member: its doors drop every connection at once and let
// nothing in, then raft stops dead (HardStop), with no goodbye and no
// leadership hand-over (a graceful Close would hand leadership over first and
// hide the election). The doors close first because etcd, once stopped, would
// serve requests still arriving from its closed database, and panic; and they
// are needed at all because the server's own Close keeps client streams open
// for seconds, where a dead machine's would break at once.
func (c *Cluster) Stop(ctx context.Context, name string) (time.Time, error) {
	m, err := c.member(name)
	if err != nil {
		return time.Time{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etcd == nil {
		return time.Time{}, fmt.Errorf("%s is already stopped", name)
	}
	e, closed := m.etcd, make(chan struct{})
	m.etcd, m.closed = nil, closed
	m.kill(e)
	died := time.Now()
	go func() { // the remains: listeners and files, which Start waits for
		e.Close()
		close(closed)
	}()
	return died, nil
}

func (m *Member) kill(e *embed.Etcd) {
	m.peer.shut()
	m.client.shut()
	e.Server.HardStop()
}

// Start restarts a stopped member with its data, behind the same doors, and
// returns once it serves clients, which needs a majority of members up.
func (c *Cluster) Start(ctx context.Context, name string) error {
	m, err := c.member(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	running, closed := m.etcd != nil, m.closed
	m.mu.Unlock()
	if running {
		return fmt.Errorf("%s is already running", name)
	}
	if closed != nil {
		select {
		case <-closed: // its data files are free again
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := c.launch(m); err != nil {
		return err
	}
	return m.waitReady(ctx)
}

// Close stops every member, closes the doors and removes the cluster's data.
// The members are killed, not stopped gracefully: a leader would try to hand
// over to members that are stopping too, and wait seconds for it.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, m := range c.Members {
		m.mu.Lock()
		e, closed := m.etcd, m.closed
		m.etcd = nil
		m.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e != nil {
				m.kill(e)
				e.Close()
			}
			if closed != nil {
				<-closed
			}
		}()
	}
	wg.Wait()
	for _, m := range c.Members {
		for _, d := range []*door{m.client, m.peer} {
			if d != nil {
				d.close()
			}
		}
	}
	os.RemoveAll(c.dir)
}

// door is a member's address: a loopback port that relays connections to the
// member's real port. It outlives the member, so a restarted member keeps its
// URLs (no free-port guessing), and shut cuts every connection at once.
type door struct {
	URL     string
	l       net.Listener
	mu      sync.Mutex
	backend string // the member's real address; "" while it is stopped
	conns   map[net.Conn]struct{}
}

func newDoor() (*door, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &door{URL: "http://" + l.Addr().String(), l: l, conns: map[net.Conn]struct{}{}}
	go d.serve()
	return d, nil
}

func (d *door) serve() {
	for {
		conn, err := d.l.Accept()
		if err != nil {
			return // closed
		}
		go d.relay(conn)
	}
}

// relay copies both ways between a caller and the member, until either side
// or shut closes the connection. While the member is stopped, callers are
// hung up on at once, as by a machine that refuses connections.
func (d *door) relay(conn net.Conn) {
	d.mu.Lock()
	backend := d.backend
	d.mu.Unlock()
	if backend == "" {
		conn.Close()
		return
	}
	member, err := net.DialTimeout("tcp", backend, time.Second)
	if err != nil {
		conn.Close()
		return
	}
	d.mu.Lock()
	if d.backend != backend { // shut while we dialled
		d.mu.Unlock()
		conn.Close()
		member.Close()
		return
	}
	d.conns[conn], d.conns[member] = struct{}{}, struct{}{}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		io.Copy(member, conn)
		close(done)
	}()
	io.Copy(conn, member)
	conn.Close()
	member.Close()
	<-done
	d.mu.Lock()
	delete(d.conns, conn)
	delete(d.conns, member)
	d.mu.Unlock()
}

func (d *door) open(backend string) {
	d.mu.Lock()
	d.backend = backend
	d.mu.Unlock()
}

// shut hangs up every connection through the door and lets no new one through.
func (d *door) shut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.backend = ""
	for conn := range d.conns {
		conn.Close()
	}
}

func (d *door) close() {
	d.l.Close()
	d.shut()
}

// Leader returns the name of the member that most members call their
// leader, or "" if no majority of them names the same one (no quorum, or an
// election under way). It needs no quorum itself, so it answers in any state
// within about twice the timeout.
func Leader(ctx context.Context, cli *clientv3.Client, endpoints []string, timeout time.Duration) (string, error) {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	leaders := make(chan uint64, len(endpoints))
	for _, ep := range endpoints {
		go func() {
			st, err := cli.Status(sctx, ep) // a stopped member's answer never comes: the timeout ends it
			if err != nil {
				leaders <- 0
				return
			}
			leaders <- st.Leader
		}()
	}
	// A member that has just crashed may still answer with its old view, and
	// followers name the old leader until they miss it: count votes.
	votes := map[uint64]int{}
	var leader uint64
	for range endpoints {
		if id := <-leaders; id != 0 {
			if votes[id]++; 2*votes[id] > len(endpoints) {
				leader = id
				break
			}
		}
	}
	if leader == 0 {
		return "", nil
	}
	mctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Serializable: a member answers from its own copy, no quorum needed.
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

// Etcd is an etcd cluster whose members a chapter stops and starts: an
// embedded three-member cluster, or with -endpoints the compose cluster.
type Etcd struct {
	*workshop.Etcd
	Members Members
	cluster *Cluster // nil for the compose cluster
}

// Connect starts an embedded three-member cluster, or with -endpoints
// uses the compose cluster of the given project (whose containers it stops
// with docker), and says on stderr which one. Close it when done.
func Connect(ctx context.Context, f *workshop.Flags, project string, stderr io.Writer) (*Etcd, error) {
	c := &Etcd{Etcd: &workshop.Etcd{Endpoints: f.EndpointList(), Timeout: f.DialTimeout}}
	if len(c.Endpoints) == 0 {
		start := time.Now()
		cluster, err := Start(ctx, 3, workshop.EmbeddedOptions{})
		if err != nil {
			return nil, err
		}
		c.cluster, c.Members, c.Endpoints = cluster, cluster, cluster.Endpoints()
		fmt.Fprintf(stderr, "etcd: embedded 3-member cluster, etcd %s at %s, started in %s (use -endpoints for the compose cluster)\n",
			version.Version, strings.Join(c.Endpoints, ","), time.Since(start).Round(time.Millisecond))
	}
	cli, err := workshop.NewClient(ctx, c.Endpoints, c.Timeout)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Client = cli
	if c.cluster == nil {
		members, err := compose.New(project)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("with -endpoints, members are stopped with docker compose: %w", err)
		}
		c.Members = members
		fmt.Fprintf(stderr, "etcd: external cluster at %s; members of compose project %s are crashed with docker kill\n",
			strings.Join(c.Endpoints, ","), project)
	}
	return c, nil
}

// Close closes the client and stops an embedded cluster, removing its data.
func (c *Etcd) Close() {
	c.Etcd.Close()
	if c.cluster != nil {
		c.cluster.Close()
	}
}
