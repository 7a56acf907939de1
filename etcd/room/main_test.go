package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

// startRoom runs the room on loopback and returns the learners' arguments
// and the projector's URL.
func startRoom(t *testing.T) (args []string, projector string) {
	t.Helper()
	lines, stderr := workshoptest.Serve(t, run, "-listen", "127.0.0.1:0", "-view", "127.0.0.1:0")
	line, err := lines.ReadString('\n')
	require.NoError(t, err, stderr.String())
	command, ok := strings.CutPrefix(strings.TrimSpace(line), "learners run: go run ./03-etcd-lock ")
	require.True(t, ok, line)
	line, err = lines.ReadString('\n')
	require.NoError(t, err, stderr.String())
	projector, ok = strings.CutPrefix(strings.TrimSpace(line), "projector: ")
	require.True(t, ok, line)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/$`, projector, "the address -view names")
	go io.Copy(io.Discard, lines)
	assert.Contains(t, stderr.String(), "root password (for your terminal only): ")
	return strings.Fields(command), projector
}

// connect is a learner's program, with the learners' arguments.
func connect(t *testing.T, args ...string) (*workshop.Etcd, error) {
	fs := cli.NewFlagSet("learner", io.Discard)
	flags := workshop.EtcdFlags(fs)
	require.NoError(t, cli.Parse(fs, args))
	return workshop.Connect(context.Background(), flags, io.Discard)
}

// The printed line is all a learner needs: with it, the article's lock and
// count work; the room user may touch the workshop's keys and nothing else,
// each refusal etcd's own error; a wrong password is one line.
func TestTheRoom(t *testing.T) {
	args, _ := startRoom(t)
	require.Len(t, args, 6, "-endpoints URL -user room -password PASSWORD: %q", args)
	assert.Equal(t, []string{"-user", roomUser, "-password"}, args[2:5])
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, args[1], "the address -listen names")

	etcd, err := connect(t, args...)
	require.NoError(t, err)
	defer etcd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	session, err := etcd.NewSession(ctx, 10)
	require.NoError(t, err)
	defer etcd.CloseSession(ctx, session)
	mutex := concurrency.NewMutex(session, "/my-test-lock")
	require.NoError(t, mutex.Lock(ctx), "the article's lock")
	_, err = etcd.Client.Put(ctx, "/my-test-counter", "1")
	require.NoError(t, err, "a chapter's count")
	require.NoError(t, mutex.Unlock(ctx))

	refused := map[string]func() error{
		`del "" --prefix`: func() error { _, err := etcd.Client.Delete(ctx, "", clientv3.WithPrefix()); return err },
		"put /not-the-workshop": func() error {
			_, err := etcd.Client.Put(ctx, "/not-the-workshop", "x")
			return err
		},
		"auth disable": func() error { _, err := etcd.Client.AuthDisable(ctx); return err },
		"user add eve": func() error { _, err := etcd.Client.UserAdd(ctx, "eve", "pw"); return err },
		"role add eve": func() error { _, err := etcd.Client.RoleAdd(ctx, "eve"); return err },
	}
	for op, do := range refused {
		assert.ErrorIs(t, do(), rpctypes.ErrPermissionDenied, op)
	}

	wrong := append(append([]string{}, args[:5]...), "wrong")
	_, err = connect(t, wrong...)
	assert.EqualError(t, err, "etcd at "+args[1]+` refused user "room": no such user, or a wrong password (etcd does not say which)`)
	_, err = connect(t, args[:2]...)
	assert.ErrorContains(t, err, "has authentication on: give a user")
}

// A bad -listen: the usage and exit status 2, before anything starts.
func TestBadListen(t *testing.T) {
	workshoptest.CheckExits(t, workshoptest.ExitCase{Name: "no port", Args: []string{"-listen", "nonsense"}, Status: 2,
		Says: `invalid value "nonsense" for flag -listen`})
}

// Every interface: learners get this machine's address on the room's
// network, never [::] or 0.0.0.0.
func TestRoomAddress(t *testing.T) {
	for _, host := range []string{"", "0.0.0.0", "::"} {
		addr, err := roomAddress(host)
		if err != nil {
			assert.Contains(t, err.Error(), "no network but loopback")
			continue
		}
		assert.NotContains(t, []string{"", "0.0.0.0", "::", "[::]", "127.0.0.1"}, addr)
	}
	addr, err := roomAddress("192.0.2.7")
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.7", addr, "a host -listen names is the one learners type")
}
