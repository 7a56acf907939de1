package workshop_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

// On a shared etcd (-endpoints) every lease a program grants, by
// workshop.NewSession or by the article's concurrency.NewSession, carries a
// label for the room's view; a chapter that needs its lock to itself keeps
// its keys under /learners/NAME/; on its own embedded etcd it does neither.
func TestLabelsAndNamespaces(t *testing.T) {
	t.Parallel()
	shared := workshoptest.Etcd(t)
	connect := func(flags func(*flag.FlagSet) *workshop.Flags, args ...string) *workshop.Etcd {
		fs := cli.NewFlagSet("06-test", io.Discard)
		f := flags(fs)
		require.NoError(t, cli.Parse(fs, args))
		etcd, err := workshop.Connect(context.Background(), f, io.Discard)
		require.NoError(t, err)
		t.Cleanup(etcd.Close)
		return etcd
	}
	lockKey := func(etcd *workshop.Etcd, name string) (key string, lease clientv3.LeaseID) {
		s, err := concurrency.NewSession(etcd.Client) // the article's: no workshop code in the way
		require.NoError(t, err)
		t.Cleanup(func() { etcd.CloseSession(context.Background(), s) })
		m := concurrency.NewMutex(s, name)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // held by another: fail, not hang
		defer cancel()
		require.NoError(t, m.Lock(ctx), "lock %s", name)
		return m.Key(), s.Lease()
	}
	rawKeys := func(prefix string) []string { return workshoptest.Keys(t, shared, prefix) }

	t.Run("room-wide chapter", func(t *testing.T) {
		etcd := connect(workshop.EtcdFlags, "-endpoints", shared.Endpoints[0], "-name", "alice-holder")
		key, lease := lockKey(etcd, "/my-test-lock")
		assert.Equal(t, fmt.Sprintf("/my-test-lock/%x", lease), key)
		assert.Contains(t, rawKeys("/my-test-lock/"), key, "03-05 share the article's lock room-wide")
		resp, err := shared.Client.Get(context.Background(), workshop.LabelKey(lease))
		require.NoError(t, err)
		require.Len(t, resp.Kvs, 1, "the lease has no label")
		var label workshop.Label
		require.NoError(t, json.Unmarshal(resp.Kvs[0].Value, &label))
		assert.Equal(t, workshop.Label{Name: "alice-holder", Program: "06-test"}, label)
		assert.Equal(t, int64(lease), resp.Kvs[0].Lease, "the label must go with the lease")
	})
	t.Run("private chapter", func(t *testing.T) {
		etcd := connect(workshop.PrivateEtcdFlags, "-endpoints", shared.Endpoints[0], "-name", "bob")
		assert.Equal(t, "/learners/bob", etcd.Namespace)
		key, lease := lockKey(etcd, "/my-test-lock") // held room-wide, yet free in its namespace
		assert.Contains(t, rawKeys("/learners/bob/my-test-lock/"), fmt.Sprintf("/learners/bob/my-test-lock/%x", lease))
		assert.Equal(t, fmt.Sprintf("/my-test-lock/%x", lease), key, "inside its namespace a chapter sees its own names")
		assert.Contains(t, etcd.ChildFlags(), "/learners/bob", "a child must use its parent's namespace")
	})
	t.Run("no namespace", func(t *testing.T) {
		etcd := connect(workshop.PrivateEtcdFlags, "-endpoints", shared.Endpoints[0], "-name", "carol", "-namespace", "")
		_, lease := lockKey(etcd, "/carols-lock")
		assert.Contains(t, rawKeys("/carols-lock/"), fmt.Sprintf("/carols-lock/%x", lease))
	})
	t.Run("embedded", func(t *testing.T) {
		etcd := connect(workshop.PrivateEtcdFlags)
		assert.Empty(t, etcd.Namespace)
		lockKey(etcd, "/my-test-lock")
		assert.Empty(t, workshoptest.Keys(t, etcd, workshop.LabelPrefix), "nobody views a private etcd")
	})
}

func TestBadNames(t *testing.T) {
	for _, name := range []string{"", "a/b", "two words", "<b>\x07", "a-name-far-longer-than-forty-characters-long"} {
		fs := cli.NewFlagSet("03-test", io.Discard)
		workshop.EtcdFlags(fs)
		var usage *cli.UsageError
		assert.ErrorAs(t, cli.Parse(fs, []string{"-name", name}), &usage, "-name %q", name)
	}
	long := "/" + strings.Repeat("x", 60)
	for _, namespace := range []string{"learners", "/a\x1b[2Jb", "/a\nb", "/two words", long} {
		fs := cli.NewFlagSet("06-test", io.Discard)
		workshop.PrivateEtcdFlags(fs)
		var usage *cli.UsageError
		assert.ErrorAs(t, cli.Parse(fs, []string{"-namespace", namespace}), &usage, "-namespace %q", namespace)
	}
	for _, user := range []string{"a\x1b[2Jb:pw", "a\nb", strings.Repeat("u", 41), ":pw", "bob:", ":"} {
		fs := cli.NewFlagSet("03-test", io.Discard)
		workshop.EtcdFlags(fs)
		var usage *cli.UsageError
		assert.ErrorAs(t, cli.Parse(fs, []string{"-user", user}), &usage, "-user %q", user)
	}
	fs := cli.NewFlagSet("03-test", io.Discard)
	workshop.EtcdFlags(fs)
	assert.NoError(t, cli.Parse(fs, []string{"-user", "room:pass word\x1b"}), "a password is never printed: anything goes")
}
