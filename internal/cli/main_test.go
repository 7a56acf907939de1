package cli_test

import (
	"context"
	"io"
	"os"
	"testing"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/testmain"
)

// roleEnv makes this test binary a program run by cli.Main (see slowCleanup).
const roleEnv = "CLI_TEST_PROGRAM"

// TestMain spares the suite the race detector's second at exit (see testmain).
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "slow-cleanup" {
		cli.Main(slowCleanup)
	}
	testmain.Run(m)
}

// slowCleanup says it is ready, waits for a signal, then cleans up until
// its stdin closes: a cleanup as slow as the test wants.
func slowCleanup(ctx context.Context, _ []string, stdout, _ io.Writer) error {
	io.WriteString(stdout, "ready\n")
	<-ctx.Done()
	io.Copy(io.Discard, os.Stdin)
	return ctx.Err()
}
