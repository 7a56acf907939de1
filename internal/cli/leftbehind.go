package cli

import (
	"fmt"
	"io"
	"sync/atomic"
)

// leftBehind is set once a program stopping after a signal has said what it
// could not undo.
var leftBehind atomic.Bool

// LeftBehind says in one line on w what a stopping program could not undo (a
// lease, a key, a member it stopped), so that Main's last line does not claim
// that it cleaned up: with etcd out of reach, Ctrl-C cannot delete anything.
func LeftBehind(w io.Writer, format string, a ...any) {
	leftBehind.Store(true)
	fmt.Fprintf(w, format+"\n", a...)
}

// stoppedHow is Main's last words after a signal, or after its parent went.
func stoppedHow(by string) string {
	if leftBehind.Load() {
		return fmt.Sprintf("stopped by %s: exited; what it could not clean up is named above", by)
	}
	return fmt.Sprintf("stopped by %s: cleaned up and exited", by)
}
