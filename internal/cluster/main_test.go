package cluster

import (
	"testing"

	"etcd-lock-workshop/internal/testmain"
	"etcd-lock-workshop/internal/workshop"
)

// TestMain spares the suite the race detector's second at exit (see
// testmain), and the members their disk flushes (see workshop.Fsync).
func TestMain(m *testing.M) {
	workshop.Fsync = false
	testmain.Run(m)
}
