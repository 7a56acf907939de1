package workshop

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// CloseSession stops the session's keepalive and revokes its lease within the
// timeout, even after Ctrl-C: Session.Close revokes with the context the
// session was made with, which Ctrl-C has already cancelled, so the lease
// (and any key on it) would outlive the program by its TTL.
func (e *Etcd) CloseSession(ctx context.Context, s *concurrency.Session) error {
	s.Orphan()
	rctx, cancel := e.WithTimeout(context.WithoutCancel(ctx))
	defer cancel()
	if _, err := e.Client.Revoke(rctx, s.Lease()); err != nil {
		return fmt.Errorf("revoke lease %x: %w", s.Lease(), err)
	}
	return nil
}
