package workshop

import (
	"context"
	"os"
	"os/exec"
)

// childEnv marks a process started by Command: it runs the chapter's program,
// even when the executable is a test binary.
const childEnv = "ETCD_LOCK_WORKSHOP_CHILD"

// RunIfChild runs the chapter and exits when this process was started by
// Command; otherwise it returns. A chapter's TestMain calls it first, so the
// test binary can play the chapter in a subprocess.
func RunIfChild(run RunFunc) {
	if os.Getenv(childEnv) != "" {
		Main(run)
	}
}

// Command returns a command that runs this same program again with args: the
// lessons that need a second process (a holder to kill, the race detector's
// exit) use it, from main and from tests alike.
func Command(ctx context.Context, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd, nil
}
