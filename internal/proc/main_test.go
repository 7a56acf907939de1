package proc_test

import (
	"context"
	"io"
	"testing"

	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, play) }

// play is what a child of these tests plays, by its role.
func play(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch proc.Role() {
	case orphanParentRole:
		return orphanParent(ctx, args, stdout, stderr)
	case relayParentRole:
		return relayParent(ctx, args, stdout, stderr)
	case relayChildRole, relayCleanChildRole:
		return relayChild(ctx, args, stdout, stderr)
	}
	return orphanHolder(ctx, args, stdout, stderr)
}
