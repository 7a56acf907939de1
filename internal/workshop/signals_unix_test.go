//go:build unix

package workshop_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/proc"
)

// A closed terminal, kill and a closed output pipe stop a chapter as Ctrl-C
// does: it removes its etcd's data and exits with 128 + the signal's number.
func TestSignalsCleanUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal syscall.Signal
	}{
		{"Ctrl-C", syscall.SIGINT},
		{"terminal closed", syscall.SIGHUP},
		{"kill", syscall.SIGTERM},
		{"output pipe closed", syscall.SIGPIPE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd, err := proc.Command(ctx)
			require.NoError(t, err)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err, "the child never got ready")
			var dir string
			_, err = fmt.Sscanf(line, "ready [%s", &dir)
			require.NoError(t, err, line)
			dir = dir[:len(dir)-1] // the closing ]
			require.DirExists(t, dir)

			if tc.signal == syscall.SIGPIPE {
				stdout.Close() // the reader goes away; the child's next write fails
			} else {
				require.NoError(t, cmd.Process.Signal(tc.signal))
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, 128+int(tc.signal), exit.ExitCode(), "exit status")
			assert.NoDirExists(t, dir, "the embedded etcd's data must be removed")
		})
	}
}
