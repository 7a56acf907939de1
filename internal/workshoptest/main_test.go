package workshoptest

import (
	"testing"

	"etcd-lock-workshop/internal/testmain"
)

// TestMain spares the suite the race detector's second at exit (see testmain).
func TestMain(m *testing.M) { testmain.Run(m) }
