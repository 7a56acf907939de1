// Command room is the teacher's one command for a room of laptops: a real
// etcd (the one go.mod pins, as go run ./etcd runs) on the room's network,
// with authentication on. Root's password is shown on the teacher's terminal
// only; learners get the user "room", whose role may read and write the
// workshop's keys and nothing else: no other keys, no users, no auth changes.
//
//	go run ./etcd/room                        every interface, port 2379, a generated password
//	go run ./etcd/room -listen 127.0.0.1:2379 -password s3cret
//
// It prints the exact command a learner types, and serves until Ctrl-C.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("room", stderr)
	host, port := "", "2379"
	fs.Func("listen", "`host:port` learners reach etcd on (default: every interface, port 2379)", func(s string) error {
		var err error
		host, port, err = net.SplitHostPort(s)
		return err
	})
	password := fs.String("password", "", "the room user's password (default: generated)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	reachAt, err := roomAddress(host)
	if err != nil {
		return err
	}
	if *password == "" {
		*password = newPassword()
	}
	rootPassword := newPassword()

	etcd, err := workshop.StartEmbedded(ctx, workshop.EmbeddedOptions{
		ClientListen: net.JoinHostPort(host, port), ClientAdvertise: net.JoinHostPort(reachAt, port)})
	if err != nil {
		return err
	}
	defer etcd.Close() // its data goes with it
	served, _ := url.Parse(etcd.URL)
	endpoint := "http://" + net.JoinHostPort(reachAt, served.Port())
	if err := enableAuth(ctx, etcd.URL, rootPassword, *password); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "etcd: the room's etcd %s at %s, authentication on\n", etcdVersion, endpoint)
	fmt.Fprintf(stderr, "root password (for your terminal only): %s\n", rootPassword)
	fmt.Fprintf(stdout, "learners run: go run ./03-etcd-lock -endpoints %s -user %s -password %s\n",
		endpoint, roomUser, *password)
	fmt.Fprintln(stderr, "serving until Ctrl-C")
	<-ctx.Done()
	return nil
}
