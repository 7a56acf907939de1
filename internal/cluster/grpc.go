package cluster

import (
	"sync"
	"time"

	"google.golang.org/grpc"
)

// grpcServers are a member's client gRPC servers, as etcd registers them
// (from its serving goroutines, hence the lock).
type grpcServers struct {
	mu      sync.Mutex
	servers []*grpc.Server
}

func (g *grpcServers) add(s *grpc.Server) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.servers = append(g.servers, s)
}

// drain stops the servers once the requests in them have returned, or after
// bound, whichever comes first.
func (g *grpcServers) drain(bound time.Duration) {
	g.mu.Lock()
	servers := g.servers
	g.mu.Unlock()
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Go(s.GracefulStop)
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(bound):
		for _, s := range servers {
			s.Stop() // GracefulStop returns too, then
		}
		<-done
	}
}
