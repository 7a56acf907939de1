package workshop_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

// An etcd that never answers must cost the dial timeout, not forever.
func TestConnectGivesUpOnADeadEndpoint(t *testing.T) {
	t.Parallel()
	dead := workshoptest.Blackhole(t)
	start := time.Now()
	_, err := workshop.Connect(context.Background(), &workshop.Flags{Endpoints: dead, DialTimeout: 500 * time.Millisecond}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot reach etcd at "+dead+" within 500ms")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestConnectSaysWhichEtcd(t *testing.T) {
	var stderr bytes.Buffer
	etcd, err := workshop.Connect(context.Background(), &workshop.Flags{DialTimeout: 10 * time.Second}, &stderr)
	require.NoError(t, err)
	assert.Regexp(t, `^etcd: embedded etcd `+regexp.QuoteMeta(version.Version)+` at http://127\.0\.0\.1:\d+, started in .*\n$`, stderr.String())

	// The same server, as an external etcd.
	stderr.Reset()
	external, err := workshop.Connect(context.Background(), &workshop.Flags{Endpoints: etcd.Endpoints[0], DialTimeout: 10 * time.Second}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, "etcd: external etcd at "+etcd.Endpoints[0]+"\n", stderr.String())
	external.Close()
	etcd.Close()
}

func TestEndpointsFromTheEnvironment(t *testing.T) {
	t.Setenv(workshop.EndpointsEnv, "http://a:1, http://b:2")
	fs := cli.NewFlagSet("x", &bytes.Buffer{})
	f := workshop.EtcdFlags(fs)
	require.NoError(t, cli.Parse(fs, nil))
	assert.Equal(t, []string{"http://a:1", "http://b:2"}, f.EndpointList())

	require.NoError(t, cli.Parse(fs, []string{"-endpoints", "http://c:3"}))
	assert.Equal(t, []string{"http://c:3"}, f.EndpointList(), "the flag wins over the environment")
}

func TestBadCommandLinesExit2(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"stray"}, {"-dial-timeout", "soon"}} {
		var stderr bytes.Buffer
		fs := cli.NewFlagSet("x", &stderr)
		workshop.EtcdFlags(fs)
		err := cli.Parse(fs, args)
		assert.Equal(t, 2, cli.ExitCode(err, &stderr), "%v", args)
		assert.Contains(t, stderr.String(), "Usage of x", "%v", args)
	}
	fs := cli.NewFlagSet("x", &bytes.Buffer{})
	assert.ErrorIs(t, cli.Parse(fs, []string{"-h"}), flag.ErrHelp)
	assert.Equal(t, 0, cli.ExitCode(flag.ErrHelp, &bytes.Buffer{}))
}

// Locker.Lock panics when etcd fails; CatchLockerPanic must turn that into an error.
func TestLockFailureIsAnError(t *testing.T) {
	t.Parallel()
	etcd := workshoptest.Etcd(t)
	session, err := etcd.NewSession(context.Background(), 60)
	require.NoError(t, err)
	etcd.Client.Close() // every request now fails

	err = func() (err error) {
		defer workshop.CatchLockerPanic(&err)
		concurrency.NewLocker(session, "/my-test-lock").Lock()
		return nil
	}()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "etcd lock: ")
	assert.ErrorIs(t, err, context.Canceled, "etcd's own error is still there")
}

// A value that makes no sense is a bad flag: usage and exit status 2, before anything starts.
func TestRangedFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "-3"}, {"-n", "0"}, {"-n", "101"}, {"-n", "many"},
		{"-d", "0s"}, {"-d", "-5s"}, {"-d", "2h"}, {"-d", "soon"},
		{"-dial-timeout", "0"},
	} {
		var stderr bytes.Buffer
		fs := cli.NewFlagSet("x", &stderr)
		workshop.EtcdFlags(fs)
		cli.Int(fs, "n", 10, 1, 100, "how many")
		cli.Duration(fs, "d", time.Second, time.Millisecond, time.Hour, "how long")
		err := cli.Parse(fs, args)
		assert.Equal(t, 2, cli.ExitCode(err, &stderr), "%v", args)
		assert.Contains(t, stderr.String(), "invalid value", "%v", args)
		assert.Contains(t, stderr.String(), "Usage of x", "%v", args)
	}
	fs := cli.NewFlagSet("x", &bytes.Buffer{})
	n := cli.Int(fs, "n", 10, 1, 100, "how many")
	d := cli.Duration(fs, "d", time.Second, time.Millisecond, time.Hour, "how long")
	require.NoError(t, cli.Parse(fs, []string{"-n", "100", "-d", "1ms"}))
	assert.Equal(t, 100, *n)
	assert.Equal(t, time.Millisecond, *d)
}

// -endpoints that are no URLs are a bad flag; the same in $ETCDCTL_ENDPOINTS is one line.
func TestEndpointsMustBeURLs(t *testing.T) {
	for _, bad := range []string{"foo", ",", "ftp://127.0.0.1:2379", "http://127.0.0.1", "http://127.0.0.1:99999",
		"http://127.0.0.1:2379\nhttp://10.0.0.1:2379"} {
		var stderr bytes.Buffer
		fs := cli.NewFlagSet("x", &stderr)
		workshop.EtcdFlags(fs)
		err := cli.Parse(fs, []string{"-endpoints", bad})
		assert.Equal(t, 2, cli.ExitCode(err, &stderr), "%q", bad)
		assert.Contains(t, stderr.String(), "invalid value", "%q", bad)
	}
	var said bytes.Buffer
	portFlags := cli.NewFlagSet("x", &said)
	workshop.EtcdFlags(portFlags)
	cli.Parse(portFlags, []string{"-endpoints", "http://127.0.0.1:99999"})
	assert.Contains(t, said.String(), `"http://127.0.0.1:99999": port "99999" is not a number from 0 to 65535`, "what is wrong")
	for _, good := range []string{"http://127.0.0.1:2379", "127.0.0.1:2379,https://etcd1:2379/", "localhost:1"} {
		fs := cli.NewFlagSet("x", &bytes.Buffer{})
		workshop.EtcdFlags(fs)
		assert.NoError(t, cli.Parse(fs, []string{"-endpoints", good}), "%q", good)
	}
	t.Setenv(workshop.EndpointsEnv, "foo")
	fs := cli.NewFlagSet("x", &bytes.Buffer{})
	f := workshop.EtcdFlags(fs)
	require.NoError(t, cli.Parse(fs, nil))
	_, err := workshop.Connect(context.Background(), f, &bytes.Buffer{})
	assert.ErrorContains(t, err, `$ETCDCTL_ENDPOINTS: "foo" is not a URL`)
}

// A learner who exported $ETCDCTL_ENDPOINTS for etcdctl is told it is in use.
func TestEndpointsFromTheEnvironmentAreNamed(t *testing.T) {
	dead := workshoptest.Blackhole(t)
	t.Setenv(workshop.EndpointsEnv, dead)
	fs := cli.NewFlagSet("x", &bytes.Buffer{})
	f := workshop.EtcdFlags(fs)
	require.NoError(t, cli.Parse(fs, []string{"-dial-timeout", "200ms"}))
	_, err := workshop.Connect(context.Background(), f, &bytes.Buffer{})
	assert.ErrorContains(t, err, "cannot reach etcd at "+dead)
	assert.ErrorContains(t, err, "these endpoints are $ETCDCTL_ENDPOINTS's: unset it")

	etcd := workshoptest.Etcd(t)
	t.Setenv(workshop.EndpointsEnv, etcd.Endpoints[0])
	var stderr bytes.Buffer
	fs = cli.NewFlagSet("x", &bytes.Buffer{})
	f = workshop.EtcdFlags(fs)
	require.NoError(t, cli.Parse(fs, nil))
	external, err := workshop.Connect(context.Background(), f, &stderr)
	require.NoError(t, err)
	external.Close()
	assert.Equal(t, "etcd: external etcd at "+etcd.Endpoints[0]+" (from $ETCDCTL_ENDPOINTS)\n", stderr.String())
}

// What cannot be undone as the program stops (etcd not answering) is named
// on stderr, a lease or a key: the learner knows what stays, and until when.
// A lease that etcd has ended already is no news, and nor is a failure
// while the program runs, which its caller hears of.
func TestWhatStaysAfterCtrlCIsNamed(t *testing.T) {
	t.Parallel()
	shared := workshoptest.Etcd(t)
	var stderr workshoptest.Buffer
	etcd, err := workshop.Connect(context.Background(), &workshop.Flags{Endpoints: shared.Endpoints[0], DialTimeout: time.Second}, &stderr)
	require.NoError(t, err)
	defer etcd.Close()
	stopped, stop := context.WithCancel(context.Background())
	stop() // Ctrl-C

	ended, err := etcd.NewSession(context.Background(), 60)
	require.NoError(t, err)
	require.NoError(t, etcd.CloseSession(context.Background(), ended))
	assert.NoError(t, etcd.CloseSession(stopped, ended), "revoked already: gone, as wanted")
	var sessions []*concurrency.Session
	for range 4 {
		s, err := etcd.NewSession(context.Background(), 60)
		require.NoError(t, err)
		sessions = append(sessions, s)
	}
	running, left, more := sessions[0], sessions[1], sessions[2:]
	answered := etcd.Client
	defer answered.Close()
	etcd.Client, err = clientv3.New(clientv3.Config{Endpoints: []string{workshoptest.Blackhole(t)}, Logger: zap.NewNop()}) // etcd stops answering
	require.NoError(t, err)
	etcd.Timeout = 200 * time.Millisecond // each step below waits for it
	connected := stderr.String()          // "etcd: external etcd at ..."
	assert.Error(t, etcd.CloseSession(context.Background(), running))
	assert.Error(t, etcd.Remove(context.Background(), "/my-test-counter"))
	assert.Equal(t, connected, stderr.String(), "the caller is told, while running")

	assert.Error(t, etcd.CloseSession(stopped, left))
	assert.Error(t, etcd.RevokeLeases(stopped, []clientv3.LeaseID{left.Lease(), more[0].Lease(), more[1].Lease()}))
	assert.Error(t, etcd.CloseSession(stopped, left), "named already: not tried, nor named, again")
	assert.Error(t, etcd.Remove(stopped, "/my-test-counter"))
	// Without a stderr (06's cluster names what stays itself), nothing is named, so each revoke is tried.
	silent := &workshop.Etcd{Client: etcd.Client, Timeout: etcd.Timeout}
	for range 2 {
		assert.ErrorContains(t, silent.CloseSession(stopped, more[1]), "deadline exceeded")
	}
	assert.Equal(t, []string{
		fmt.Sprintf("etcd: lease %x not revoked (context deadline exceeded): it ends with its TTL", left.Lease()),
		fmt.Sprintf("etcd: leases %x and 1 more not revoked (context deadline exceeded): they end with their TTL",
			more[0].Lease()),
		"etcd: /my-test-counter not deleted (context deadline exceeded): it stays in etcd",
	}, strings.Split(strings.TrimSpace(strings.TrimPrefix(stderr.String(), connected)), "\n"))
	for _, s := range sessions {
		rctx, cancel := shared.WithTimeout(context.Background())
		shared.Client.Revoke(rctx, s.Lease())
		cancel()
	}
}
