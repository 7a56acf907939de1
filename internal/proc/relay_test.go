package proc_test

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
)

// The roles of TestWhatAChildLeavesIsTheParents: a parent asked to stop
// stops its child, which could not delete its key, or could.
const relayParentRole, relayChildRole, relayCleanChildRole = "relay-parent", "relay-child", "relay-clean-child"

func relayParent(ctx context.Context, args []string, stdout, _ io.Writer) error {
	child, err := proc.StartAs(ctx, args[0])
	if err != nil {
		return err
	}
	defer child.Stop()
	if _, err := child.WaitFor("ready", nil, time.Minute); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready")
	<-ctx.Done()
	return nil
}

func relayChild(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout, "ready")
	<-ctx.Done()
	if proc.Role() == relayChildRole {
		cli.LeftBehind(stderr, "etcd: /my-test-counter not deleted (context deadline exceeded): it stays in etcd")
	}
	return nil
}

// What a child could not clean up as it stopped reaches the learner through
// its parent, whose stderr the learner sees (the child's the parent reads):
// the parent names it, and does not say that it cleaned up.
func TestWhatAChildLeavesIsTheParents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ child, says string }{
		{relayChildRole, `^left behind: \[child pid \d+\] etcd: /my-test-counter not deleted \(context deadline exceeded\): ` +
			`it stays in etcd\nstopped by its parent: exited; what it could not clean up is named above\n$`},
		{relayCleanChildRole, `^stopped by its parent: cleaned up and exited\n$`},
	} {
		t.Run(tc.child, func(t *testing.T) {
			t.Parallel()
			parent, err := proc.StartAs(context.Background(), relayParentRole, tc.child)
			require.NoError(t, err)
			defer parent.Kill()
			_, err = parent.WaitFor("ready", nil, time.Minute)
			require.NoError(t, err)
			parent.AskToStop() // as its own parent, this test, stopping would
			parent.Wait()
			// This parent is a child too: its line is marked, for this test's process to relay.
			assert.Regexp(t, regexp.MustCompile(tc.says), cli.Unwrap(parent.Stderr()))
		})
	}
}
