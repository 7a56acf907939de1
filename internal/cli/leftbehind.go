package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// leftBehind is set once a program stopping after a signal has said what it
// could not undo, itself or through a child (Relay).
var leftBehind atomic.Bool

// childMark starts what a child process leaves behind, in its stderr, which
// its parent reads (proc.Child) and relays: the learner sees the parent's.
const childMark = "left behind: "

var relayed struct {
	sync.Mutex
	lines []string
}

// LeftBehind says in one line on w what a stopping program could not undo (a
// lease, a key, a member it stopped), so that Main's last line does not claim
// that it cleaned up: with etcd out of reach, Ctrl-C cannot delete anything.
func LeftBehind(w io.Writer, format string, a ...any) {
	leftBehind.Store(true)
	if os.Getenv(ParentEnv) != "" {
		format = childMark + format
	}
	fmt.Fprintf(w, format+"\n", a...)
}

// Relay takes the lines a child marked as left behind from its stderr (which
// its Main wrapped), for Main to say before its last line, after who
// ("[child pid 42]").
func Relay(who, childStderr string) {
	for _, line := range strings.Split(Unwrap(childStderr), "\n") {
		if what, ok := strings.CutPrefix(line, childMark); ok {
			relayed.Lock()
			relayed.lines = append(relayed.lines, who+" "+what)
			relayed.Unlock()
		}
	}
}

// sayRelayed says what children left behind, as this program's own.
func sayRelayed(w io.Writer) {
	relayed.Lock()
	defer relayed.Unlock()
	for _, line := range relayed.lines {
		LeftBehind(w, "%s", line)
	}
}

// stoppedHow is Main's last words after a signal, or after its parent went.
func stoppedHow(by string) string {
	if leftBehind.Load() {
		return fmt.Sprintf("stopped by %s: exited; what it could not clean up is named above", by)
	}
	return fmt.Sprintf("stopped by %s: cleaned up and exited", by)
}
