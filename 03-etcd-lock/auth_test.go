package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

// A room's etcd has authentication on. With its user the article's program
// runs as anywhere else; without one, or with a wrong password, or a role
// that does not allow the lock's keys, a learner gets one line and exit 1.
func TestAnEtcdWithAuthentication(t *testing.T) {
	t.Parallel()
	room := workshoptest.AuthEtcd(t, "/my-test-lock")
	elsewhere := workshoptest.AuthEtcd(t, "/another-prefix")

	var stdout, stderr bytes.Buffer
	args := []string{"-endpoints", room, "-user", workshoptest.RoomUser, "-password", workshoptest.RoomPassword}
	require.NoError(t, run(t.Context(), args, &stdout, &stderr), stderr.String())
	assert.Equal(t, "count: 100\n", stdout.String())

	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "no user", Args: []string{"-endpoints", room}, Status: 1,
			Says: "error: etcd at " + room + " has authentication on: give -user NAME:PASSWORD"},
		workshoptest.ExitCase{Name: "wrong password", Args: []string{"-endpoints", room, "-user", "room:nope"}, Status: 1,
			Says: `error: etcd at ` + room + ` refused user "room": wrong password, or no such user`},
		workshoptest.ExitCase{Name: "no such user", Args: []string{"-endpoints", room, "-user", "nobody:x"}, Status: 1,
			Says: `refused user "nobody": wrong password, or no such user`},
		workshoptest.ExitCase{Name: "user without password", Args: []string{"-endpoints", room, "-user", "room"}, Status: 1,
			Says: `error: -user "room": no password: give -password, or -user NAME:PASSWORD`},
		workshoptest.ExitCase{Name: "a role without the lock's keys", Args: []string{"-endpoints", elsewhere,
			"-user", "room:" + workshoptest.RoomPassword, "-goroutines", "3"}, Status: 1,
			Says: "etcdserver: permission denied"},
	)
}
