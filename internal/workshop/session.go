package workshop

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// NewSession returns a session whose lease (ttl seconds) is granted within the
// timeout and kept alive until ctx ends or the session is closed.
func (e *Etcd) NewSession(ctx context.Context, ttl int) (*concurrency.Session, error) {
	return e.NewSessionOn(ctx, e.Client, ttl)
}

// NewSessionOn is NewSession on a client of the program's own.
func (e *Etcd) NewSessionOn(ctx context.Context, cli *clientv3.Client, ttl int) (*concurrency.Session, error) {
	// NewSession's own Grant would use the keepalive context, which has no
	// deadline. Not ctx either: a Grant cut short by Ctrl-C may still be
	// granted, and we would not know which lease to revoke.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.Timeout)
	defer cancel()
	lease, err := cli.Grant(rctx, int64(ttl))
	if err != nil {
		return nil, fmt.Errorf("grant a %ds lease: %w", ttl, err)
	}
	if ctx.Err() != nil {
		e.revokeOn(ctx, cli, []clientv3.LeaseID{lease.ID})
		return nil, ctx.Err()
	}
	return concurrency.NewSession(cli, concurrency.WithTTL(ttl),
		concurrency.WithLease(lease.ID), concurrency.WithContext(ctx))
}

// CloseSession stops the session's keepalive and revokes its lease, even after
// Ctrl-C: Session.Close revokes with the session's context, which Ctrl-C has
// cancelled, so the lease (and its keys) would outlive the program by its TTL.
func (e *Etcd) CloseSession(ctx context.Context, s *concurrency.Session) error {
	s.Orphan()
	return e.RevokeLease(ctx, s.Lease())
}
