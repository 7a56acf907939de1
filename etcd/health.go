package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// health is the compose healthcheck: the image is FROM scratch, with no shell
// or curl, so the etcd binary checks itself. It prints one line.
func health(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the reason and the usage are said below, -h's on stdout
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stdout, healthUsage)
		return 0
	case err == nil && fs.NArg() > 1:
		err = fmt.Errorf("unexpected argument %q: one client URL at most", fs.Arg(1))
	case err == nil && fs.NArg() == 1:
		err = checkURL(fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n%s\n", err, healthUsage)
		return 2
	}
	endpoint := "http://127.0.0.1:2379"
	if fs.NArg() == 1 {
		endpoint = strings.TrimSuffix(fs.Arg(0), "/")
	}
	if err := healthy(endpoint); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", endpoint, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: healthy\n", endpoint)
	return 0
}

const healthUsage = "usage: go run ./etcd health [client URL]   (default http://127.0.0.1:2379)"

// checkURL refuses what is not a member's client URL, as the chapters'
// -endpoints does, before any request: http:// or https://, a host and a port.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err == nil && u.Scheme != "http" && u.Scheme != "https" && u.Host != "":
		return fmt.Errorf("%q: not http:// or https://", s)
	case err != nil, u.Host == "", u.Port() == "", u.Hostname() == "", strings.Trim(u.Path, "/") != "",
		u.RawQuery != "", u.Fragment != "", u.User != nil:
		return fmt.Errorf("%q is not a URL such as http://127.0.0.1:2379", s)
	}
	if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %s is not a number from 1 to 65535", s, u.Port())
	}
	return nil
}

// healthTimeout bounds one health check: the compose healthcheck allows 3 s.
const healthTimeout = 2 * time.Second

// healthy asks etcd's /health, which answers true only when the member has a
// leader, no alarm, and can serve a linearizable read: it is part of a quorum.
func healthy(endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
	if err != nil {
		return fmt.Errorf("not a client URL: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // without the method and the URL, printed already
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("unhealthy: no answer within %s", healthTimeout)
		}
		return fmt.Errorf("unhealthy: %v", err)
	}
	defer resp.Body.Close()
	// etcd answers {"health":"true","reason":""}; anything else is not etcd.
	var answer struct {
		Health *string `json:"health"`
		Reason string  `json:"reason"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(body, &answer) != nil || answer.Health == nil {
		contentType, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
		return fmt.Errorf("not an etcd: /health answered %s (%s), not etcd's health JSON", resp.Status, contentType)
	}
	if *answer.Health != "true" {
		if answer.Reason == "" {
			answer.Reason = resp.Status
		}
		return fmt.Errorf("unhealthy: %s", answer.Reason)
	}
	return nil
}
