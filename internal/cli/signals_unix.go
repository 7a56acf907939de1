//go:build unix

package cli

import (
	"errors"
	"os"
	"syscall"
)

// stopSignals end a program cleanly, as Ctrl-C does: a chapter revokes its
// leases, reaps its child processes, removes its temp dirs. SIGHUP is a
// closed terminal.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// isClosedPipe reports whether a write failed because nobody reads the pipe
// any more (SIGPIPE is ignored, so the write returns EPIPE).
func isClosedPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }
