// Command etcd is the etcd server that go.mod pins (the same code the chapters
// embed), for a room without Docker, and the binary in the cluster's image.
//
//	go run ./etcd                      a single member: clients on http://127.0.0.1:2379
//	go run ./etcd health [client URL]  exit 0 if that member is healthy (default http://127.0.0.1:2379)
//
// Every other argument is etcd's own: go run ./etcd --help.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		os.Exit(health(os.Args[2:], os.Stdout, os.Stderr))
	}
	// etcd logs every step as JSON lines; a learner wants the lock, not the
	// log. Unless told otherwise (--log-outputs stderr, or any --log-* flag or
	// ETCD_LOG_* variable), the log goes to a file and one line says where.
	args := os.Args
	if !logConfigured() {
		if len(args) == 1 {
			go sayWhenReady("http://127.0.0.1:2379")
		}
		// A flag, not ETCD_LOG_OUTPUTS: etcd logs the variables it reads to stderr.
		args = append(args, "--log-outputs="+logFile)
	}
	etcdmain.Main(args)
}

var logFile = filepath.Join(os.TempDir(), "etcd-lock-workshop-etcd.log")

func logConfigured() bool {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_LOG_") {
			return true
		}
	}
	return slices.ContainsFunc(os.Args[1:], func(arg string) bool {
		return strings.HasPrefix(strings.TrimLeft(arg, "-"), "log-")
	})
}

// sayWhenReady prints one readable line once the default member serves
// clients, since etcd's own log went to a file.
func sayWhenReady(url string) {
	for range 300 {
		if healthy(url) == nil {
			fmt.Fprintf(os.Stderr, "etcd: serving clients at %s, data in ./default.etcd, log in %s (Ctrl-C stops it)\n", url, logFile)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// health is the compose healthcheck: the image is FROM scratch, with no shell
// or curl, so the etcd binary checks itself.
func health(args []string, stdout, stderr io.Writer) int {
	url := "http://127.0.0.1:2379"
	if len(args) > 0 {
		url = strings.TrimSuffix(args[0], "/")
	}
	if err := healthy(url); err != nil {
		fmt.Fprintf(stderr, "%s: unhealthy: %v\n", url, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: healthy\n", url)
	return 0
}

// healthy asks etcd's /health, which answers true only when the member has a
// leader, no alarm, and can serve a linearizable read: it is part of a quorum.
func healthy(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("%s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
