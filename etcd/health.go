package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// health is the compose healthcheck: the image is FROM scratch, with no shell
// or curl, so the etcd binary checks itself. It prints one line.
func health(args []string, stdout, stderr io.Writer) int {
	endpoint := "http://127.0.0.1:2379"
	const usage = "usage: go run ./etcd health [client URL]   (default http://127.0.0.1:2379)"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprintln(stdout, usage)
		return 0
	case len(args) > 1 || len(args) > 0 && strings.HasPrefix(args[0], "-"):
		fmt.Fprintln(stderr, usage)
		return 2
	case len(args) > 0:
		endpoint = strings.TrimSuffix(args[0], "/")
	}
	if err := healthy(endpoint); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", endpoint, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: healthy\n", endpoint)
	return 0
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
