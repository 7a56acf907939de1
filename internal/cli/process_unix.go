//go:build unix

package cli

import (
	"errors"
	"syscall"
)

// Alive reports whether a process with this id exists (EPERM: it does, but is
// not ours): whether the owner of a temp dir or a log file is still running.
func Alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
