package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"etcd-lock-workshop/internal/workshop"
)

// Generous: under -race on 2 busy cores etcd is several times slower.
const patience = 20 * time.Second

func startCluster(t *testing.T) *Embedded {
	t.Helper()
	c, err := StartEmbedded(context.Background(), 3, workshop.EmbeddedOptions{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// client talks to the given members only.
func client(t *testing.T, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	return cli
}

// roles returns the leader and a follower.
func roles(t *testing.T, c *Embedded) (leader, follower *Member) {
	t.Helper()
	cli := client(t, c.Endpoints()...)
	require.Eventually(t, func() bool {
		name, _ := Leader(context.Background(), cli, c.Endpoints(), time.Second)
		leader, _ = c.Member(name)
		return leader != nil
	}, patience, 50*time.Millisecond, "no leader")
	for _, m := range c.Members {
		if m != leader {
			return leader, m
		}
	}
	panic("unreachable")
}

func get(cli *clientv3.Client, key string, opts ...clientv3.OpOption) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key, opts...)
	if err != nil || len(resp.Kvs) == 0 {
		return "", err
	}
	return string(resp.Kvs[0].Value), nil
}

func put(cli *clientv3.Client, key, value string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := cli.Put(ctx, key, value)
	return err
}

// A crash is a crash: every connection to the member breaks at once (etcd's
// own Close would keep a watch stream open for its request timeout, 6 s here),
// new ones are hung up on, and after a restart the same URL serves the same data.
func TestStopCutsEveryConnectionAndStartKeepsTheURL(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	m := c.Members[0]
	cli := client(t, m.ClientURL)
	require.NoError(t, put(cli, "k", "before the crash"))
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	watch := cli.Watch(ctx, "k", clientv3.WithCreatedNotify())
	require.True(t, (<-watch).Created, "a watch stream is open")
	conn := cli.ActiveConnection()
	ready := conn.GetState()
	require.Equal(t, "READY", ready.String())

	_, err := c.Stop(context.Background(), m.Name)
	require.NoError(t, err)
	crashed := time.Now()
	assert.False(t, c.Running(m.Name))
	require.True(t, conn.WaitForStateChange(ctx, ready), "the connection must break")
	assert.Less(t, time.Since(crashed), 3*time.Second, "at once, not when etcd closes its watch streams")
	if again, err := net.Dial("tcp", strings.TrimPrefix(m.ClientURL, "http://")); err == nil {
		again.SetReadDeadline(time.Now().Add(patience))
		_, err = again.Read(make([]byte, 1))
		assert.False(t, errors.Is(err, os.ErrDeadlineExceeded), "a new connection must be hung up on at once: %v", err)
		again.Close()
	}

	require.NoError(t, c.Start(context.Background(), m.Name))
	assert.True(t, c.Running(m.Name))
	value, err := get(client(t, m.ClientURL), "k")
	require.NoError(t, err)
	assert.Equal(t, "before the crash", value, "same URL, same data")
}

// A partitioned member keeps its clients but cannot serve them anything that
// needs a quorum; the other two go on; healed, it catches up.
func TestPartition(t *testing.T) {
	t.Parallel()
	for _, role := range []string{"follower", "leader"} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t)
			leader, follower := roles(t, c)
			cut := map[string]*Member{"leader": leader, "follower": follower}[role]
			var others []string
			for _, m := range c.Members {
				if m != cut {
					others = append(others, m.ClientURL)
				}
			}
			alone, majority := client(t, cut.ClientURL), client(t, others...)

			require.NoError(t, c.Partition(cut.Name))
			// The majority commits, once it has a leader of its own.
			require.Eventually(t, func() bool { return put(majority, "k", "written without "+cut.Name) == nil },
				patience, 100*time.Millisecond, "the two others must go on")
			if role == "leader" {
				name, err := Leader(context.Background(), majority, others, time.Second)
				require.NoError(t, err)
				assert.NotEqual(t, cut.Name, name, "the others elect a new leader")
			}
			// Its clients are still connected: it answers for itself...
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := alone.Status(sctx, cut.ClientURL)
			cancel()
			assert.NoError(t, err, "a client attached to the partitioned member stays connected")
			// ...but cannot serve a linearizable read, and has not seen the write.
			_, err = get(alone, "k")
			assert.ErrorIs(t, err, context.DeadlineExceeded, "a linearizable read needs the quorum it cannot reach")
			value, err := get(alone, "k", clientv3.WithSerializable())
			require.NoError(t, err)
			assert.Empty(t, value, "its own copy misses the write")

			require.NoError(t, c.Heal(cut.Name))
			assert.Eventually(t, func() bool {
				value, err := get(alone, "k")
				return err == nil && value == "written without "+cut.Name
			}, patience, 100*time.Millisecond, "healed, it catches up")
		})
	}
}

// A slow member makes every round trip with it slower: with the leader slow,
// a write takes at least the delay (its append reaches the followers late).
func TestSlow(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	leader, _ := roles(t, c)
	cli := client(t, leader.ClientURL)
	const delay = 300 * time.Millisecond // under the election timeout: it stays leader
	require.NoError(t, c.Slow(leader.Name, delay, 0))
	began := time.Now()
	require.NoError(t, put(cli, "k", "slow"))
	assert.GreaterOrEqual(t, time.Since(began), delay, "a write waits for the delayed append")

	// It stays slow across a crash and a restart, until healed.
	_, err := c.Stop(context.Background(), leader.Name)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), leader.Name))
	c.mu.Lock()
	assert.Equal(t, delay, leader.proxy.LatencyRx())
	c.mu.Unlock()
	require.NoError(t, c.Heal(leader.Name))
	c.mu.Lock()
	assert.Zero(t, leader.proxy.LatencyRx())
	assert.Zero(t, leader.proxy.LatencyTx())
	c.mu.Unlock()
	assert.Error(t, c.Slow(leader.Name, 0, 0), "a delay of nothing is a mistake")
}

// Health names who is down; Restore starts what Stop crashed, even after
// the chapter's context is cancelled (Ctrl-C).
func TestHealthAndRestore(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Open(ctx, &workshop.Flags{DialTimeout: 10 * time.Second}, "", &strings.Builder{})
	require.NoError(t, err)
	defer c.Close()
	h, err := c.Health(ctx)
	require.NoError(t, err)
	assert.True(t, h.Whole(), "%+v", h)
	assert.Equal(t, []string{"etcd1", "etcd2", "etcd3"}, h.Members)

	_, err = c.Stop(ctx, "etcd2")
	require.NoError(t, err)
	h, err = c.Health(ctx)
	require.NoError(t, err)
	assert.False(t, h.Whole())
	assert.Equal(t, []string{"etcd2"}, h.Down)
	assert.Equal(t, []string{"etcd2"}, c.Stopped())

	cancel()
	require.NoError(t, c.Restore(ctx, patience))
	assert.True(t, c.Embedded.Running("etcd2"))
	assert.Empty(t, c.Stopped())
}

// With 2 of 3 members down, the one left answers but cannot serve a read: a
// chapter must say "no quorum" and name who answers, not "is it running?".
func TestNoQuorumIsNamed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := startCluster(t)
	for _, m := range c.Members[1:] {
		_, err := c.Stop(ctx, m.Name)
		require.NoError(t, err)
	}
	_, err := workshop.NewClient(ctx, c.Endpoints(), 2*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no quorum (no leader)")
	assert.Contains(t, err.Error(), "members answering: "+c.Members[0].ClientURL+";")
	assert.Contains(t, err.Error(), "not answering: "+c.Members[1].ClientURL+","+c.Members[2].ClientURL)
}
