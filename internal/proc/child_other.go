//go:build !linux && !windows

package proc

import "os/exec"

// dieWithParent: the pipe from the parent stops a running child when the
// parent dies (cli.ParentGone). A frozen one cannot read it, but the kernel
// sends SIGHUP and SIGCONT to a stopped process whose process group the
// parent's death orphans (POSIX), and SIGHUP stops it as Ctrl-C would.
var dieWithParent = func(*exec.Cmd) {}
