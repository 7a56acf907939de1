package proc

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the child if this process dies first,
// even of SIGKILL, which leaves no chance to clean up: no frozen or orphaned
// holder outlives the lesson.
// A running child has the end of its pipe too (cli.ParentGone); a frozen one
// cannot read it. A variable, so that a test can see the pipe alone at work.
var dieWithParent = func(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
