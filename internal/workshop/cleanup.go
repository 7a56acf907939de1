package workshop

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
)

// RevokeLease revokes a lease (such as a killed program's, which would hold
// its keys for its TTL) as these undo a chapter's work: within the timeout,
// even after Ctrl-C, naming what stays when stopping (cli.LeftBehind).
func (e *Etcd) RevokeLease(ctx context.Context, lease clientv3.LeaseID) error {
	return e.RevokeLeases(ctx, []clientv3.LeaseID{lease})
}

// RevokeLeases revokes leases within one timeout. A lease etcd no longer has
// (expired, or revoked already) is no error: it is gone, as wanted.
func (e *Etcd) RevokeLeases(ctx context.Context, leases []clientv3.LeaseID) error {
	rctx, cancel := e.WithTimeout(context.WithoutCancel(ctx))
	defer cancel()
	var errs []error
	var left []string // leases etcd may still have
	var why error
	for _, lease := range leases {
		if _, err := e.Client.Revoke(rctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			errs = append(errs, fmt.Errorf("revoke lease %x: %w", lease, err))
			left, why = append(left, fmt.Sprintf("%x", lease)), err
		}
	}
	switch {
	case len(left) == 0 || ctx.Err() == nil || e.stderr == nil:
	case len(left) == 1:
		cli.LeftBehind(e.stderr, "etcd: lease %s not revoked (%v): it ends with its TTL", left[0], why)
	default:
		cli.LeftBehind(e.stderr, "etcd: leases %s not revoked (%v): they end with their TTL",
			strings.Join(left, ", "), why)
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
