package main

// Plumbing: calls that are expected to hang, watched for a while, and an
// address that never answers.

import (
	"context"
	"fmt"
	"net"
	"time"
)

// StuckFor runs call in a goroutine and watches it for p.wait, saying on
// stderr every second that it is still waiting. If call is still running
// then, it is stuck: StuckFor cancels its context and returns once it has
// returned, with its error, so that nothing is left blocked.
func (p *Play) StuckFor(ctx context.Context, what string, call func(ctx context.Context) error) (stuck bool, err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var callErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		callErr = call(cctx)
	}()
	returned, werr := p.Watch(ctx, time.Now(), p.wait, done, what+": still waiting after %s")
	if returned {
		return false, callErr
	}
	cancel()
	select {
	case <-done:
		if werr != nil {
			return false, werr
		}
		return true, callErr
	case <-time.After(patience):
		return true, fmt.Errorf("%s did not return within %s of being cancelled", what, patience)
	}
}

// Watch waits until done closes (true) or d has passed since start
// (false). With a label, it says every second on stderr that it is still
// waiting: label is a format whose one verb is the time since start.
func (p *Play) Watch(ctx context.Context, start time.Time, d time.Duration, done <-chan struct{}, label string) (bool, error) {
	for second := time.Second; ; second += time.Second {
		next := min(second, d)
		timer := time.NewTimer(time.Until(start.Add(next)))
		select {
		case <-done:
			timer.Stop()
			return true, nil
		case <-ctx.Done():
			timer.Stop()
			return false, ctx.Err()
		case <-timer.C:
		}
		if next == d {
			return false, nil
		}
		if label != "" {
			fmt.Fprintf(p.status, label+"\n", next)
		}
	}
}

// silentEtcd is an address that accepts connections and never answers: the
// kernel completes each TCP handshake and nobody reads. To a client it looks
// like an etcd that is frozen, or behind a firewall that drops its packets.
type silentEtcd struct {
	listener net.Listener
	URL      string
}

func listenSilently() (*silentEtcd, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &silentEtcd{l, "http://" + l.Addr().String()}, nil
}

func (s *silentEtcd) Close() { s.listener.Close() }
