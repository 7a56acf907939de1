package workshop

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the child if this process dies first,
// even of SIGKILL, which leaves no chance to clean up: no frozen or orphaned
// holder outlives the lesson.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
