package view

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Config is what a view shows and how.
type Config struct {
	Client  *clientv3.Client // of the etcd shown
	Name    string           // the etcd, as the page names it
	Timeout time.Duration    // of every request to etcd
	CA      []byte           // the room's CA certificate (PEM), offered as ca.pem, or nil
}

// Serve serves the view of c's etcd on l until ctx ends, then closes l
// and every page's stream (a page reconnects by itself to the next view).
func Serve(ctx context.Context, c Config, l net.Listener) error {
	s := New(c.Client, c.Name, c.Timeout)
	s.ca = c.CA
	if err := s.Load(ctx); err != nil {
		l.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	watched := make(chan error, 1)
	go func() { watched <- s.Run(ctx) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	case err = <-watched:
	}
	cancel()
	srv.Close() // not Shutdown: a page's stream never ends by itself
	<-watched
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
