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
	switch os.Getenv(roleEnv) {
	case "slow-cleanup":
		cli.Main(slowCleanup)
	case "leaves-a-key":
		cli.Main(leavesAKey)
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

// leavesAKey says it is ready, waits for a signal, then cannot delete its
// key: as with etcd out of reach after Ctrl-C.
func leavesAKey(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
	io.WriteString(stdout, "ready\n")
	<-ctx.Done()
	cli.LeftBehind(stderr, "etcd: /my-test-counter not deleted (context deadline exceeded)")
	return ctx.Err()
}
