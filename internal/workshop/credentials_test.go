package workshop_test

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

// -user and -password, or etcdctl's $ETCDCTL_USER (name or name:password)
// and $ETCDCTL_PASSWORD: the user every client of the program is, and its
// children too (ChildFlags).
func TestCredentials(t *testing.T) {
	room := workshoptest.AuthEtcd(t, "/creds")
	connect := func(args ...string) (*workshop.Etcd, error) {
		fs := cli.NewFlagSet("test", io.Discard)
		flags := workshop.EtcdFlags(fs)
		require.NoError(t, cli.Parse(fs, append([]string{"-endpoints", room}, args...)))
		return workshop.Connect(context.Background(), flags, io.Discard)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flags", nil, []string{"-user", "room", "-password", workshoptest.RoomPassword}},
		{"-user name:password", nil, []string{"-user", "room:" + workshoptest.RoomPassword}},
		{"$ETCDCTL_USER name:password", map[string]string{"ETCDCTL_USER": "room:" + workshoptest.RoomPassword}, nil},
		{"$ETCDCTL_USER and $ETCDCTL_PASSWORD", map[string]string{"ETCDCTL_USER": "room", "ETCDCTL_PASSWORD": workshoptest.RoomPassword}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			etcd, err := connect(tc.args...)
			require.NoError(t, err)
			defer etcd.Close()
			assert.Equal(t, workshop.Credentials{User: "room", Password: workshoptest.RoomPassword}, etcd.Credentials)
			assert.Equal(t, []string{"-endpoints", room, "-dial-timeout", "5s", "-user", "room:" + workshoptest.RoomPassword,
				"-name", etcd.Name}, etcd.ChildFlags())
			cli, err := etcd.Dial(context.Background(), etcd.Endpoints) // a second client, as 06's workers make
			require.NoError(t, err)
			cli.Close()
		})
	}
	t.Run("$ETCDCTL_USER that prints as something else", func(t *testing.T) {
		t.Setenv("ETCDCTL_USER", "a\x1b[2Jb:pw")
		_, err := connect()
		assert.EqualError(t, err, "-user's name: letters, digits and punctuation only (no spaces, no control characters)")
	})
	t.Run("a password without a user", func(t *testing.T) {
		_, err := connect("-password", "x")
		assert.EqualError(t, err, "-password without -user: give the user too (-user NAME)")
	})
}
