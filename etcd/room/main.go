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
	"os"
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
		host, port, err = cli.SplitHostPort(s)
		return err
	})
	var password string
	fs.Func("password", "the room user's password: letters, digits, '-', '_' and '.', up to 72 "+
		"(default: generated)", func(s string) error {
		if err := checkPassword(s); err != nil {
			return err
		}
		password = s
		return nil
	})
	viewAt := fs.String("view", ":8379", "`host:port` the projector's live view is served on (\":8379\": every interface)")
	useTLS := fs.Bool("tls", false, "etcd on https:// only, with a certificate from a CA made for this session (learners pass -cacert)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	viewHost, _, err := cli.SplitHostPort(*viewAt)
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
	if password == "" {
		password = newPassword()
	}
	rootPassword := newPassword()

	opts := workshop.EmbeddedOptions{ClientListen: net.JoinHostPort(host, port), ClientAdvertise: net.JoinHostPort(reachAt, port),
		BcryptCost: passwordCost}
	var ca roomCA
	if *useTLS {
		dir, err := cli.TempDir("room-tls")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if ca, err = newRoomCA(dir, []string{reachAt, host, "127.0.0.1", "localhost"}); err != nil {
			return fmt.Errorf("make the room's CA: %w", err)
		}
		opts.ClientCert, opts.ClientKey = ca.certFile, ca.keyFile
	}
	etcd, err := workshop.StartEmbedded(ctx, opts)
	if err != nil {
		return err
	}
	defer etcd.Close() // its data goes with it
	served, _ := url.Parse(etcd.URL)
	endpoint := served.Scheme + "://" + net.JoinHostPort(reachAt, served.Port())
	// This machine's own clients: on loopback where etcd listens on every interface.
	local := etcd.URL
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		local = served.Scheme + "://" + net.JoinHostPort("127.0.0.1", served.Port())
	}
	if err := enableAuth(ctx, local, ca.caFile, rootPassword, password); err != nil {
		return err
	}
	tlsNote := ""
	if *useTLS {
		tlsNote = ", TLS on"
	}
	fmt.Fprintf(stderr, "etcd: the room's etcd %s at %s, authentication on%s\n", etcdVersion, endpoint, tlsNote)
	fmt.Fprintf(stderr, "root password (for your terminal only): %s\n", rootPassword)
	// The view is the teacher's: it reads every key, as root.
	root := &workshop.Etcd{Timeout: 10 * time.Second, Credentials: workshop.Credentials{User: "root", Password: rootPassword},
		CACert: ca.caFile}
	viewClient, err := root.Dial(ctx, []string{local})
	if err != nil {
		return err
	}
	defer viewClient.Close()
	l, err := net.Listen("tcp", *viewAt)
	if err != nil {
		return fmt.Errorf("serve the view: %w", err)
	}
	_, viewPort, _ := net.SplitHostPort(l.Addr().String())
	viewURL := "http://" + net.JoinHostPort(viewReachAt, viewPort) + "/"
	cacert := ""
	if *useTLS {
		cacert = " -cacert ca.pem"
		fmt.Fprintf(stdout, "learners download: %sca.pem\n", viewURL)
		fmt.Fprintf(stdout, "ca.pem SHA-256: %s\n", ca.fingerprint()) // a line of its own: 100 columns
	}
	fmt.Fprintf(stdout, "learners run: go run ./03-etcd-lock -endpoints %s%s -user %s -password %s\n",
		endpoint, cacert, roomUser, password)
	fmt.Fprintf(stdout, "projector: %s\n", viewURL)
	fmt.Fprintln(stderr, "serving until Ctrl-C")
	return view.Serve(ctx, view.Config{Client: viewClient, Name: "the room's etcd at " + endpoint, Timeout: root.Timeout, CA: ca.pem}, l)
}
