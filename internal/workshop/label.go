package workshop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/namespace"

	"etcd-lock-workshop/internal/cli"
)

// On an etcd the room shares, a program says who it is: every lease it
// grants carries a key under LabelPrefix, on that lease, naming the learner
// (-name) and the program, which is how the room's view labels a lock's
// queue. The key goes with the lease, so nothing is left behind. And the
// chapters that need a lock to themselves (06-10) keep their keys under
// LearnersPrefix+NAME (/learners/alice/my-test-lock), so that thirty learners never wait for each other.
const (
	LabelPrefix    = "/labels/"
	LearnersPrefix = "/learners/"
)

// Label is what LabelPrefix+lease holds, as JSON.
type Label struct {
	Name    string `json:"name"`
	Program string `json:"program"`
}

// LabelKey is the key that labels a lease.
func LabelKey(lease clientv3.LeaseID) string { return fmt.Sprintf("%s%x", LabelPrefix, int64(lease)) }

const maxNameLen = 40

// nameValue is -name: shown to the whole room, so short and printable, and
// without "/", since it also names a folder of keys.
type nameValue struct {
	name *string
	set  *bool
}

func (v nameValue) String() string {
	if v.name == nil {
		return ""
	}
	return *v.name
}

func (v nameValue) Set(s string) error {
	if err := checkName(s); err != nil {
		return err
	}
	*v.name, *v.set = s, true
	return nil
}

func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty: give a name the room will see, such as alice")
	case strings.Contains(s, "/"):
		return errors.New(`no "/": it also names a folder of keys`)
	}
	return cli.Printable(s, maxNameLen)
}

// identity decides, once connected, whether this program labels its leases
// and under which prefix its keys go: only on an etcd the learner named
// (-endpoints), which others may share. A child of a chapter does as its
// parent says in ChildFlags, since its -endpoints came from the parent.
func (f *Flags) identity(embedded bool) (label bool, ns string) {
	if embedded {
		return false, ""
	}
	child := os.Getenv(cli.ParentEnv) != ""
	label = !child || f.nameSet
	switch {
	case f.namespaceSet:
		ns = f.Namespace
	case f.private && !child:
		ns = LearnersPrefix + f.Name
	}
	return label, ns
}

// labelingLease is a client's Lease that labels every lease it grants.
type labelingLease struct {
	clientv3.Lease
	kv      clientv3.KV // not namespaced: the view reads every label
	value   string
	timeout time.Duration
	refused atomic.Bool // the user may not write labels: stop asking
}

func (l *labelingLease) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	resp, err := l.Lease.Grant(ctx, ttl)
	if err != nil || l.refused.Load() {
		return resp, err
	}
	// Bounded: the article's NewSession grants with a context that has no deadline.
	pctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	// A label is for the view only: a lease without one is still a lease.
	_, perr := l.kv.Put(pctx, LabelKey(resp.ID), l.value, clientv3.WithLease(resp.ID))
	if errors.Is(perr, rpctypes.ErrPermissionDenied) || errors.Is(perr, rpctypes.ErrGRPCPermissionDenied) {
		l.refused.Store(true)
	}
	return resp, nil
}

// identify makes cli label its leases and keep its keys under ns.
func identify(cli *clientv3.Client, label bool, ns string, l Label, timeout time.Duration) {
	raw := cli.KV
	if label {
		value, _ := json.Marshal(l)
		cli.Lease = &labelingLease{Lease: cli.Lease, kv: raw, value: string(value), timeout: timeout}
	}
	if ns != "" {
		cli.KV = namespace.NewKV(raw, ns)
		cli.Watcher = namespace.NewWatcher(cli.Watcher, ns)
		cli.Lease = namespace.NewLease(cli.Lease, ns)
	}
}
