package cluster

import (
	"io"
	"net"
	"sync"
	"time"
)

// door is a member's address: a loopback port that relays connections to the
// member. It outlives the member, so a restarted member keeps its URLs (no
// free-port guessing), and shut cuts every connection at once, as a crash
// does.
//
// etcd's fault proxy (go.etcd.io/etcd/pkg/v3/proxy) cannot play this part:
// its Close waits for the open connections to end instead of cutting them;
// while the member is down it accepts a caller and leaves it waiting (a
// crashed machine refuses it); and it needs its port chosen in advance, on
// every interface. So the doors stay, and the proxy runs behind the peer door
// for the faults it does well (see faults.go).
type door struct {
	URL string
	l   net.Listener

	mu      sync.Mutex
	network string // how to reach the member: "tcp" or "unix"
	backend string // the member's address; "" while it is stopped
	shuts   int    // how many times shut was called: a connection dialled across one is dropped
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
	network, backend, shuts := d.network, d.backend, d.shuts
	d.mu.Unlock()
	if backend == "" {
		conn.Close()
		return
	}
	member, err := net.DialTimeout(network, backend, time.Second)
	if err != nil {
		conn.Close()
		return
	}
	d.mu.Lock()
	if d.shuts != shuts { // shut while we dialled
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

// open lets callers through to the member at backend.
func (d *door) open(network, backend string) {
	d.mu.Lock()
	d.network, d.backend = network, backend
	d.mu.Unlock()
}

// shut hangs up every connection through the door and lets no new one through.
func (d *door) shut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.backend = ""
	d.shuts++
	for conn := range d.conns {
		conn.Close()
	}
}

func (d *door) close() {
	d.l.Close()
	d.shut()
}
