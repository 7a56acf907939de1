//go:build unix

package proc

import (
	"os"
	"syscall"
)

// FreezeName and ThawName say to the learner how a child is frozen and thawed.
const FreezeName, ThawName = "SIGSTOP", "SIGCONT"

func freeze(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }
func thaw(p *os.Process) error   { return p.Signal(syscall.SIGCONT) }
