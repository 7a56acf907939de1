package cli

import (
	"bufio"
	"os"
	"sync"
)

// ParentEnv marks a child process whose stdin is a pipe from its parent (see
// proc.CommandAs). The pipe is how the parent talks to it on every
// system: a line is a message (FromParent), and the end of the pipe, closed
// by the parent or by the system when the parent dies, even of kill -9,
// stops the child as Ctrl-C would. No child outlives its parent.
const ParentEnv = "WORKSHOP_PARENT_PIPE"

var (
	fromParent  = make(chan string, 16)
	parentGone  chan struct{}
	watchParent sync.Once
)

// FromParent delivers the lines the parent writes to this process (such as
// "resume" to a holder it had frozen); it is closed when the pipe ends.
func FromParent() <-chan string {
	ParentGone()
	return fromParent
}

// ParentGone is closed when the parent's pipe ends: the parent has asked
// this process to stop, or has died. It is nil, never ready, in a process
// that has no such pipe. Main stops the program when it closes.
func ParentGone() <-chan struct{} {
	watchParent.Do(func() {
		if os.Getenv(ParentEnv) == "" {
			return
		}
		parentGone = make(chan struct{})
		go func() {
			lines := bufio.NewScanner(os.Stdin)
			for lines.Scan() {
				fromParent <- lines.Text()
			}
			close(parentGone)
			close(fromParent)
		}()
	})
	return parentGone
}
