//go:build !unix

package main

import (
	"context"
	"testing"
)

// ctrlCWithTheLeaderDown is Unix's: a test cannot send Ctrl-C to one child
// process on Windows.
func ctrlCWithTheLeaderDown(_ context.Context, t *testing.T, _ string, _ []string) {
	t.Log("Ctrl-C with the leader down: not tested on this system (Unix only)")
}
