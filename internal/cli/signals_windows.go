package cli

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// stopSignals end a program cleanly: on Windows, Ctrl-C (and Ctrl-Break).
var stopSignals = []os.Signal{os.Interrupt}

// isClosedPipe reports whether a write failed because nobody reads the pipe
// any more: Windows says "the pipe is being closed" or "broken pipe".
func isClosedPipe(err error) bool {
	return errors.Is(err, windows.ERROR_NO_DATA) || errors.Is(err, windows.ERROR_BROKEN_PIPE)
}
