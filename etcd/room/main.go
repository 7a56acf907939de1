// Command room is the teacher's one command for a room of laptops: a real
// etcd (the one go.mod pins, as go run ./etcd runs) on the room's network,
// with authentication on. Root's password is shown on the teacher's terminal
// only; learners get the user "room", whose role may read and write the
// workshop's keys and nothing else: no other keys, no users, no auth changes.
//
//	go run ./etcd/room                        every interface, port 2379, a generated password
//	go run ./etcd/room -listen 127.0.0.1:2379 -password s3cret
//
// It prints the exact command a learner types and the address of the live
// view for the projector (internal/view, port 8379), and serves until Ctrl-C.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/view"
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
	viewAt := fs.String("view", ":8379", "`host:port` the projector's live view is served on (default: every interface)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	viewHost, _, err := net.SplitHostPort(*viewAt)
	if err != nil {
		return cli.BadValue(fs, "-view %q: %v", *viewAt, err)
	}
	reachAt, err := roomAddress(host)
	if err != nil {
		return err
	}
	viewReachAt, err := roomAddress(viewHost)
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
	// The view is the teacher's: it reads every key, as root.
	root := &workshop.Etcd{Timeout: 10 * time.Second, Credentials: workshop.Credentials{User: "root", Password: rootPassword}}
	viewClient, err := root.Dial(ctx, []string{etcd.URL})
	if err != nil {
		return err
	}
	defer viewClient.Close()
	l, err := net.Listen("tcp", *viewAt)
	if err != nil {
		return fmt.Errorf("serve the view: %w", err)
	}
	_, viewPort, _ := net.SplitHostPort(l.Addr().String())
	fmt.Fprintf(stdout, "learners run: go run ./03-etcd-lock -endpoints %s -user %s -password %s\n",
		endpoint, roomUser, *password)
	fmt.Fprintf(stdout, "projector: http://%s/\n", net.JoinHostPort(viewReachAt, viewPort))
	fmt.Fprintln(stderr, "serving until Ctrl-C")
	return view.Serve(ctx, viewClient, "the room's etcd at "+endpoint, l, root.Timeout)
}
