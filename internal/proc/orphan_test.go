package proc_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// The roles of TestChildDiesWithItsParent's processes: a parent, killed
// with kill -9, and its child, a lock holder in miniature.

const orphanParentRole, orphanHolderRole = "orphan-parent", "orphan-holder"

// orphanParent starts a holder, says where it is (optionally freezing it
// first) and waits to be killed.
func orphanParent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orphan-parent", flag.ContinueOnError)
	endpoints := fs.String("endpoints", "", "")
	ttl := fs.String("ttl", "", "")
	pipeOnly := fs.Bool("pipe-only", false, "")
	freeze := fs.Bool("freeze", false, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pipeOnly {
		*proc.DieWithParent = func(*exec.Cmd) {}
	}
	holder, err := proc.StartAs(ctx, orphanHolderRole, "-endpoints", *endpoints, "-ttl", *ttl)
	if err != nil {
		return err
	}
	defer holder.Stop()
	line, err := holder.WaitFor("ready", nil, time.Minute)
	if err != nil {
		return err
	}
	if *freeze {
		if err := holder.Freeze(); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, line)
	<-ctx.Done()
	return nil
}

// orphanHolder puts a key on a lease of its own and keeps it alive until it
// is stopped; then it revokes the lease.
func orphanHolder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("orphan-holder", stderr)
	flags := workshop.EtcdFlags(fs)
	ttl := fs.Int("ttl", 0, "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	etcd, err := workshop.Connect(ctx, flags, io.Discard)
	if err != nil {
		return err
	}
	defer etcd.Close()
	session, err := etcd.NewSession(ctx, *ttl)
	if err != nil {
		return err
	}
	defer etcd.CloseSession(ctx, session)
	key := fmt.Sprintf("/orphan-test/%d", os.Getpid())
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	if _, err := etcd.Client.Put(rctx, key, "", clientv3.WithLease(session.Lease())); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready", os.Getpid(), key)
	<-ctx.Done()
	return nil
}
