// Command etcd is the etcd server that go.mod pins (the same code the chapters
// embed), for a room without Docker, and the binary in the cluster's image.
//
//	go run ./etcd                      a single member: clients on http://127.0.0.1:2379
//	go run ./etcd health [client URL]  exit 0 if that member is healthy (default http://127.0.0.1:2379)
//
// Every other argument is etcd's own: go run ./etcd --help.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"go.etcd.io/etcd/server/v3/etcdmain"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
)

func main() {
	args := os.Args[1:]
	proxy := len(args) > 0 && (args[0] == "gateway" || args[0] == "grpc-proxy") // flags of their own
	if proc.Role() != etcdRole && !proxy {                                      // etcd's child: checked by its parent
		if err := checkArgs(args); err != nil {
			fmt.Fprintf(cli.Wrap(os.Stderr), "etcd: %v\n%s\n", err, usage)
			os.Exit(2)
		}
	}
	switch {
	case len(args) > 0 && args[0] == "health":
		os.Exit(health(args[1:], os.Stdout, os.Stderr))
	case proc.Role() == etcdRole, logConfigured(args):
		// etcd as it is: started by supervise below, or in the cluster's
		// image (ETCD_LOG_OUTPUTS=stderr), or by someone who asked for its log.
		if proc.Role() == etcdRole {
			// A closed terminal hangs up the whole process group, and etcd
			// would die of SIGHUP at once: supervise passes it on as SIGTERM.
			signal.Ignore(syscall.SIGHUP)
		}
		go stopWithParent()
		etcdmain.Main(os.Args)
	default:
		// etcd logs every step as JSON lines; a learner wants the lock, not
		// the log. etcd runs in a child process whose log goes to a file, and
		// this one says on the terminal when it serves, or why it failed.
		os.Exit(supervise(args, os.Stderr))
	}
}

// usage follows a bad command line, which exits with status 2.
const usage = `usage: go run ./etcd [etcd's flags]   (go run ./etcd --help lists them)
       go run ./etcd health [client URL]   (default http://127.0.0.1:2379)
       go run ./etcd gateway|grpc-proxy ...   (etcd's own commands)`

// stopWithParent stops etcd, started by supervise, once supervise has gone
// (even of kill -9): SIGTERM stops it cleanly; Windows, which cannot signal
// a process so, ends it (its job object would, too).
func stopWithParent() {
	gone := cli.ParentGone()
	if gone == nil {
		return // not supervise's child
	}
	<-gone
	if self, err := os.FindProcess(os.Getpid()); err != nil || self.Signal(syscall.SIGTERM) != nil {
		os.Exit(1)
	}
}

// logConfigured: any --log-* flag or ETCD_LOG_* variable means the log goes
// where the user said; etcd's gateway and grpc-proxy commands have no
// --log-outputs.
func logConfigured(args []string) bool {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_LOG_") {
			return true
		}
	}
	if len(args) > 0 && (args[0] == "gateway" || args[0] == "grpc-proxy") {
		return true
	}
	return slices.ContainsFunc(args, func(arg string) bool {
		return strings.HasPrefix(strings.TrimLeft(arg, "-"), "log-")
	})
}
