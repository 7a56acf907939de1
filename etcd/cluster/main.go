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
// It imports no etcd package but the version, so that `go run` compiles it in
// seconds on a cold machine: up builds etcd itself, and says so as it goes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"etcd-lock-workshop/internal/compose"
)

func main() {
	// Ctrl-C, SIGTERM or a closed terminal cancel ctx: up removes what it
	// started, and every docker command it runs gets the interrupt.
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	stopped := make(chan syscall.Signal, 1)
	go func() {
		sig := <-signals
		stopped <- sig.(syscall.Signal)
		cancel()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(signals)
	select {
	case sig := <-stopped:
		fmt.Fprintf(os.Stderr, "cluster: stopped by %s\n", signalNames[sig])
		os.Exit(128 + int(sig))
	default:
	}
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGINT: "Ctrl-C (SIGINT)", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP (terminal closed)",
}

// usageError is a bad command line; the usage has already been printed.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", compose.Project, "docker compose project name")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./etcd/cluster [-project name] up|down|<docker compose command>")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return &usageError{err}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &usageError{errors.New("no command")}
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
