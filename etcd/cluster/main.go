// Command cluster brings the article's three-member etcd cluster up and down
// with docker compose, building etcd and its image first, offline.
//
//	go run ./etcd/cluster up      build etcd/bin/etcd and the image, start etcd1-3, wait until healthy
//	go run ./etcd/cluster down    remove the members and their data
//	go run ./etcd/cluster ARGS    any other docker compose command for the cluster:
//	                              ps, logs etcd1, stop etcd2, start etcd2, kill etcd3...
//
// It uses `docker compose` where the plugin is installed, else `docker-compose`.
// After the first up, docker compose typed by hand works too (up writes .env).
//
// It imports no etcd package but the version (internal/cli is free of etcd
// too), so that `go run` compiles it in seconds on a cold machine: up builds
// etcd itself, and says so as it goes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/compose"
)

func main() { cli.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("cluster", stderr)
	project := fs.String("project", compose.Project, "docker compose project name")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./etcd/cluster [-project name] up|down|<docker compose command>")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return &cli.UsageError{Err: err}
	}
	if fs.NArg() == 0 {
		return cli.BadValue(fs, "no command: up, down, or one of docker compose's")
	}
	c, err := compose.New(*project)
	if err != nil {
		return err
	}
	switch fs.Arg(0) {
	case "up":
		if err := c.Up(ctx, stderr); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cluster up: -endpoints %s\n", compose.Endpoints)
		return nil
	case "down":
		if err := c.Down(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "cluster down: members and data removed")
		return nil
	default: // ps, logs, stop, start...: docker compose speaks for itself, until Ctrl-C
		cmd := c.Command(ctx, fs.Args()...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		return cmd.Run()
	}
}
