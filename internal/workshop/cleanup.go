package workshop

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
)

// RevokeLease revokes a lease, such as a killed program's, which would hold
// its keys for its TTL. It, RevokeLeases and Remove undo what a chapter did,
// within the timeout, even after Ctrl-C; a program that is stopping names what
// stays (cli.LeftBehind), so that it does not claim it cleaned up.
func (e *Etcd) RevokeLease(ctx context.Context, l clientv3.LeaseID) error {
	return e.RevokeLeases(ctx, []clientv3.LeaseID{l})
}

// RevokeLeases revokes leases within one timeout. A lease etcd no longer has
// (expired, or revoked already) is no error: it is gone, as wanted.
func (e *Etcd) RevokeLeases(ctx context.Context, leases []clientv3.LeaseID) error {
	return e.revokeOn(ctx, e.Client, leases)
}

func (e *Etcd) revokeOn(ctx context.Context, client *clientv3.Client, leases []clientv3.LeaseID) error {
	rctx, cancel := e.WithTimeout(context.WithoutCancel(ctx))
	defer cancel()
	var errs []error
	var left []string // leases etcd may still have, not named before
	var why error
	for _, lease := range leases {
		if _, named := e.unrevoked.Load(lease); named { // etcd did not answer for it as the program stopped
			errs = append(errs, fmt.Errorf("revoke lease %x: not tried again, named already", lease))
			continue
		}
		if _, err := client.Revoke(rctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			errs = append(errs, fmt.Errorf("revoke lease %x: %w", lease, err))
			left, why = append(left, fmt.Sprintf("%x", lease)), err
			if ctx.Err() != nil && e.stderr != nil { // named below
				e.unrevoked.Store(lease, true)
			}
		}
	}
	switch {
	case len(left) == 0 || ctx.Err() == nil || e.stderr == nil:
	case len(left) == 1:
		cli.LeftBehind(e.stderr, "etcd: lease %s not revoked (%v): it ends with its TTL", left[0], why)
	default:
		cli.LeftBehind(e.stderr, "etcd: leases %s and %d more not revoked (%v): they end with their TTL",
			left[0], len(left)-1, why)
	}
	return errors.Join(errs...)
}

// Remove deletes a chapter's key (with clientv3.WithPrefix, the keys under
// it), so that an etcd is left as found.
func (e *Etcd) Remove(ctx context.Context, key string, opts ...clientv3.OpOption) error {
	rctx, cancel := e.WithTimeout(context.WithoutCancel(ctx))
	defer cancel()
	if _, err := e.Client.Delete(rctx, key, opts...); err != nil {
		if ctx.Err() != nil && e.stderr != nil {
			cli.LeftBehind(e.stderr, "etcd: %s not deleted (%v): it stays in etcd", key, err)
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
