package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"golang.org/x/crypto/bcrypt"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) {
	passwordCost = uint(bcrypt.MinCost) // the room in this process: see passwordCost
	workshoptest.Main(m, run)
}

// startRoom runs the room on loopback and returns the learners' arguments
// and the projector's URL.
func startRoom(t *testing.T, flags ...string) (args []string, projector string) {
	args, printed := startRoomPrinting(t, flags...)
	return args, printed["projector"]
}

// startRoomPrinting is startRoom with every line the room prints for the
// projector, by what it starts with ("learners download", "projector").
func startRoomPrinting(t *testing.T, flags ...string) (args []string, printed map[string]string) {
	t.Helper()
	lines, stderr := workshoptest.Serve(t, run, append([]string{"-listen", "127.0.0.1:0", "-view", "127.0.0.1:0"}, flags...)...)
	printed = map[string]string{}
	for printed["projector"] == "" {
		line, err := lines.ReadString('\n')
		require.NoError(t, err, stderr.String())
		what, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
		require.True(t, ok, line)
		printed[what] = value
	}
	go io.Copy(io.Discard, lines)
	command, ok := strings.CutPrefix(printed["learners run"], "go run ./03-etcd-lock ")
	require.True(t, ok, printed)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/$`, printed["projector"], "the address -view names")
	assert.Contains(t, stderr.String(), "root password (for your terminal only): ")
	return strings.Fields(command), printed
}

// connect is a learner's program, with the learners' arguments.
func connect(t testing.TB, args ...string) (*workshop.Etcd, error) {
	fs := cli.NewFlagSet("learner", io.Discard)
	flags := workshop.EtcdFlags(fs)
	require.NoError(t, cli.Parse(fs, args))
	return workshop.Connect(context.Background(), flags, io.Discard)
}

// The printed line is all a learner needs: with it, the article's lock and
// count work; the room user may touch the workshop's keys and nothing else,
// each refusal etcd's own error; a wrong password is one line.
func TestTheRoom(t *testing.T) {
	t.Parallel()
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
	assert.EqualError(t, err, "etcd at "+args[1]+` refused user "room": wrong password, or no such user`)
	_, err = connect(t, args[:2]...)
	assert.ErrorContains(t, err, "has authentication on: give -user NAME:PASSWORD")
}

// A bad -listen, -view or -password: the usage and exit status 2, before
// anything starts.
func TestBadListen(t *testing.T) {
	workshoptest.CheckExits(t, workshoptest.ExitCase{Name: "no port", Args: []string{"-listen", "nonsense"}, Status: 2,
		Says: `invalid value "nonsense" for flag -listen`},
		workshoptest.ExitCase{Name: "port out of range", Args: []string{"-listen", ":99999"}, Status: 2,
			Says: `port "99999" is not a number from 0 to 65535`},
		workshoptest.ExitCase{Name: "view port out of range", Args: []string{"-view", "127.0.0.1:99999"}, Status: 2,
			Says: `port "99999" is not a number from 0 to 65535`},
		// The learners' line would show a command that runs another.
		workshoptest.ExitCase{Name: "password a shell takes apart", Args: []string{"-password", "a b;id $(id)"}, Status: 2,
			Says: "letters, digits"},
		workshoptest.ExitCase{Name: "password that prints as something else", Args: []string{"-password", "a\x1b[2Jb"},
			Status: 2, Says: "letters, digits"},
		workshoptest.ExitCase{Name: "password past bcrypt's 72 bytes", Args: []string{"-password", strings.Repeat("p", 73)},
			Status: 2, Says: "from 1 to 72 characters"})
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

// -tls: etcd on https:// only, with a certificate from a CA made for the
// session. The learners' line has -cacert ca.pem; the view offers ca.pem,
// whose SHA-256 the room prints for learners to compare; with it the article's
// lock works; without it, or with another CA, one line says so.
func TestTheRoomWithTLS(t *testing.T) {
	t.Parallel()
	args, printed := startRoomPrinting(t, "-tls")
	require.Len(t, args, 8, "-endpoints URL -cacert ca.pem -user room -password PASSWORD: %q", args)
	assert.Regexp(t, `^https://127\.0\.0\.1:\d+$`, args[1])
	assert.Equal(t, []string{"-cacert", "ca.pem"}, args[2:4])
	download, sum := printed["learners download"], printed["ca.pem SHA-256"]
	assert.Equal(t, printed["projector"]+"ca.pem", download)

	resp, err := http.Get(download)
	require.NoError(t, err)
	pem, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	got := sha256.Sum256(pem)
	assert.Equal(t, sum, hex.EncodeToString(got[:]), "the fingerprint the room prints")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem, 0o600))
	args[3] = caFile

	etcd, err := connect(t, args...)
	require.NoError(t, err)
	defer etcd.Close()
	workshoptest.HoldLock(t, etcd, "/my-test-lock") // the article's lock, over TLS

	without := append(append([]string{}, args[:2]...), args[4:]...)
	_, err = connect(t, without...)
	assert.EqualError(t, err, "etcd at "+args[1]+" has a certificate this machine does not trust: give -cacert FILE, "+
		"the room's CA (ca.pem on the view's page; compare its SHA-256 with the teacher's)")
	other, err := newRoomCA(t.TempDir(), []string{"127.0.0.1"})
	require.NoError(t, err)
	args[3] = other.caFile
	_, err = connect(t, args...)
	assert.EqualError(t, err, "etcd at "+args[1]+" has a certificate that "+other.caFile+" did not sign: is it this room's CA?")
	args[3] = filepath.Join(t.TempDir(), "ca.pem") // not downloaded: one line, nothing about -endpoints
	_, err = connect(t, args...)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.NotContains(t, err.Error(), "-endpoints")
}
