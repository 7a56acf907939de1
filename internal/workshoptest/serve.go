package workshoptest

import (
	"bufio"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"etcd-lock-workshop/internal/cli"
)

// Serve runs a program that serves until Ctrl-C (the room, the view) in this
// process, and returns its stdout, line by line, and its stderr. At cleanup
// it is stopped as by Ctrl-C, and must return nil within 30 s.
func Serve(t testing.TB, run cli.RunFunc, args ...string) (stdout *bufio.Reader, stderr *Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, in := io.Pipe()
	stderr = &Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, in, stderr)
		in.Close()
	}()
	t.Cleanup(func() {
		cancel()
		go io.Copy(io.Discard, out) // what it prints as it stops
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("it did not stop within 30 s of Ctrl-C")
		}
	})
	return bufio.NewReader(out), stderr
}
