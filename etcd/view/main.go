// Command view serves the room's live view of an etcd's locks, for a
// projector or one laptop: every lock's queue (holder first), each entry's
// label and lease, its TTL as keepalives renew it, what happens as it
// happens, the counts and the members. The room's etcd (go run ./etcd/room)
// serves it too; this is the same page for any etcd.
//
//	go run ./etcd/view                                  the etcd of go run ./etcd, page on 127.0.0.1:8379
//	go run ./etcd/view -endpoints http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/view"
	"etcd-lock-workshop/internal/workshop"
)

func main() { cli.Main(run) }

// defaultEndpoint is where go run ./etcd serves.
const defaultEndpoint = "http://127.0.0.1:2379"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("view", stderr)
	flags := workshop.EtcdFlags(fs)
	fs.Lookup("endpoints").Usage = "client `URLs` of the etcd to show (default: $" +
		workshop.EndpointsEnv + ", else " + defaultEndpoint + ")"
	listen := fs.String("listen", "127.0.0.1:8379", "`host:port` the page is served on (\":8379\" for every interface)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if _, _, err := cli.SplitHostPort(*listen); err != nil {
		return cli.BadValue(fs, "-listen %q: %v", *listen, err)
	}
	flags.Unreachable = "start one: go run ./etcd"
	if len(flags.EndpointList()) == 0 {
		flags.Endpoints = defaultEndpoint // the view of an etcd nobody else could reach would be empty
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve the view: %w", err)
	}
	fmt.Fprintf(stdout, "view: %s\n", pageURL(l.Addr(), *listen))
	return view.Serve(ctx, view.Config{Client: etcd.Client, Name: strings.Join(etcd.Endpoints, ","), Timeout: etcd.Timeout}, l)
}

// pageURL is the page's address as a browser on this machine types it.
func pageURL(addr net.Addr, listen string) string {
	host, _, _ := net.SplitHostPort(listen)
	_, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
