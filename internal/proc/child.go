// Package proc runs the same program again in a second process, for the
// lessons that need one: a holder to kill or freeze, the race detector's exit
// status, a candidate to crash. The child plays the chapter (or a role of
// it), dies with its parent, and is stopped as by Ctrl-C when the parent asks.
package proc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"etcd-lock-workshop/internal/cli"
)

// childEnv marks a process started by Command or Start, and holds its
// role: it runs the chapter's program, even when the executable is a test
// binary. (Not ETCD_*: etcd's server reads those as its flags.)
const childEnv = "WORKSHOP_CHILD"

// childGrace is how long a child whose context ended may take to clean up.
const childGrace = 10 * time.Second

// RunIfChild runs the chapter and exits when this process was started by
// Command or Start; otherwise it returns. A chapter's TestMain calls it
// first, so that the test binary can play the chapter in a subprocess.
func RunIfChild(run cli.RunFunc) {
	if Role() != "" {
		cli.Main(run)
	}
}

// Role is the role this process was given by CommandAs or StartAs
// ("main" by Command and Start), or "" when a learner started it. A role
// is a mode of the program that only the program itself uses, so it is no
// flag in -help.
func Role() string { return os.Getenv(childEnv) }

// Command returns a command that runs this same program again with args: the
// lessons that need a second process (a holder to kill, the race detector's
// exit status) use it, from main and from tests alike.
func Command(ctx context.Context, args ...string) (*exec.Cmd, error) {
	return CommandAs(ctx, "main", args...)
}

// CommandAs is Command with a role for the child (see Role).
func CommandAs(ctx context.Context, role string, args ...string) (*exec.Cmd, error) {
	cmd, _, err := command(ctx, role, args)
	return cmd, err
}

// command is CommandAs, with the parent's end of the child's stdin: the pipe
// that carries messages (Child.Send), and whose end stops the child on every
// system (see cli.ParentGone), the parent's own death included.
func command(ctx context.Context, role string, args []string) (*exec.Cmd, io.WriteCloser, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	pipe, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	// When ctx ends (Ctrl-C here), the child stops as this program does, and
	// cleans up: a kill would leave its lease, and its key, for a whole TTL.
	// A frozen child is thawed to do it; one that is not gone in time is killed.
	cmd.Cancel = func() error {
		thaw(cmd.Process)
		return pipe.Close()
	}
	cmd.WaitDelay = childGrace
	cmd.Env = append(os.Environ(), childEnv+"="+role, cli.ParentEnv+"=1")
	dieWithParent(cmd)
	if RaceDetector && os.Getenv("GORACE") == "" {
		// A -race binary sleeps 1 s before it exits (atexit_sleep_ms): spare every child that second.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	return cmd, pipe, nil
}

// Child is this program running again in another process, such as a lock
// holder that the lesson kills or freezes.
type Child struct {
	cmd    *exec.Cmd
	pipe   io.WriteCloser // the child's stdin: messages, and its end means stop
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{} // closed once the process has exited and been reaped
	err    error         // Wait's result, set before done closes
	once   sync.Once
}

// Start starts this program with args. Its stdout lines are read with WaitFor;
// its stderr is kept for errors. Stop it with Kill (or let it exit) and Wait.
func Start(ctx context.Context, args ...string) (*Child, error) {
	return StartAs(ctx, "main", args...)
}

// StartAs is Start with a role for the child (see Role).
func StartAs(ctx context.Context, role string, args ...string) (*Child, error) {
	cmd, pipe, err := command(ctx, role, args)
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, pipe: pipe, lines: make(chan string, 100), done: make(chan struct{})}
	cmd.Stderr = &c.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			c.lines <- scanner.Text()
		}
		close(c.lines)
		c.err = cmd.Wait() // after the pipe is drained, as exec requires
		cli.Relay(fmt.Sprintf("[child pid %d]", cmd.Process.Pid), c.stderr.String())
		close(c.done)
	}()
	return c, nil
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// WaitFor returns the first stdout line containing want, copying the lines
// before it to w (nil to drop them), or an error if the child exits or the
// timeout passes first.
func (c *Child) WaitFor(want string, w io.Writer, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				<-c.done
				return "", c.exitError(want)
			}
			if strings.Contains(line, want) {
				return line, nil
			}
			if w != nil {
				fmt.Fprintln(w, line)
			}
		case <-deadline:
			return "", fmt.Errorf("child %d did not print %q within %s", c.Pid(), want, timeout)
		}
	}
}

// exitError says in one line why the child ended before printing want: its
// own "error: ..." line when it printed one, else how it ended.
func (c *Child) exitError(want string) error {
	lines := strings.Split(strings.TrimSpace(c.stderr.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(lines[i], "error: "); ok {
			return errors.New(msg)
		}
	}
	return fmt.Errorf("child %d exited before printing %q: %v", c.Pid(), want, c.err)
}

// Signal sends sig (Ctrl-C's os.Interrupt, for example) to the child.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Send writes msg to the child as one line: it reads it from cli.FromParent.
func (c *Child) Send(msg string) error {
	_, err := io.WriteString(c.pipe, msg+"\n")
	return err
}

// Freeze stops every thread of the child where it is, keepalives and all, as
// a long GC pause would (SIGSTOP; on Windows, NtSuspendProcess); Thaw lets
// it go on. Names for the learner: FreezeName and ThawName.
func (c *Child) Freeze() error { return freeze(c.cmd.Process) }

// Thaw undoes Freeze.
func (c *Child) Thaw() error { return thaw(c.cmd.Process) }

// Kill kills the child, the way a crash would (no deferred Unlock, no lease
// revoke), and returns once it has been reaped.
func (c *Child) Kill() error {
	c.once.Do(func() { c.cmd.Process.Kill() })
	c.Wait()
	return nil
}

// AskToStop asks the child to stop as Ctrl-C stops this program, so that it
// cleans up, revoking its lease: it thaws it, should it be frozen, and closes
// its pipe. It does not wait.
func (c *Child) AskToStop() {
	thaw(c.cmd.Process)
	c.pipe.Close()
}

// Stop asks the child to stop (AskToStop) and, if it is not gone within a
// grace period, kills it. It returns once the child has been reaped. A child
// that has exited already is left as it is.
func (c *Child) Stop() {
	if !c.Exited() {
		c.AskToStop()
		kill := time.AfterFunc(childGrace, func() { c.cmd.Process.Kill() })
		defer kill.Stop()
	}
	c.Wait() // reads what it still prints, so that it is not blocked writing
}

// Wait waits for the child to exit and returns its exit error, if any.
func (c *Child) Wait() error {
	for range c.lines { // drain, so the reader goroutine can finish
	}
	<-c.done
	return c.err
}

// Exited reports whether the child has exited and been reaped.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// State is how the child ended (for example killed by SIGKILL); nil until it has.
func (c *Child) State() *os.ProcessState {
	if !c.Exited() {
		return nil
	}
	return c.cmd.ProcessState
}
