package workshop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"etcd-lock-workshop/internal/cli"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childEnv marks a process started by Command or StartChild, and holds its
// role: it runs the chapter's program, even when the executable is a test
// binary. (Not ETCD_*: etcd's server reads those as its flags.)
const childEnv = "WORKSHOP_CHILD"

// childGrace is how long a child whose context ended may take to clean up.
const childGrace = 10 * time.Second

// RunIfChild runs the chapter and exits when this process was started by
// Command or StartChild; otherwise it returns. A chapter's TestMain calls it
// first, so that the test binary can play the chapter in a subprocess.
func RunIfChild(run cli.RunFunc) {
	if ChildRole() != "" {
		cli.Main(run)
	}
}

// ChildRole is the role this process was given by CommandAs or StartChildAs
// ("main" by Command and StartChild), or "" when a learner started it. A role
// is a mode of the program that only the program itself uses, so it is no
// flag in -help.
func ChildRole() string { return os.Getenv(childEnv) }

// Command returns a command that runs this same program again with args: the
// lessons that need a second process (a holder to kill, the race detector's
// exit status) use it, from main and from tests alike.
func Command(ctx context.Context, args ...string) (*exec.Cmd, error) {
	return CommandAs(ctx, "main", args...)
}

// CommandAs is Command with a role for the child (see ChildRole).
func CommandAs(ctx context.Context, role string, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	// When ctx ends (Ctrl-C here), the child stops as this program does, and
	// cleans up: SIGKILL would leave its lease, and its key, for a whole TTL.
	// A frozen child is woken to do it; one that is not gone in time is killed.
	cmd.Cancel = func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Process.Signal(syscall.SIGCONT)
		return nil
	}
	cmd.WaitDelay = childGrace
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	dieWithParent(cmd)
	if RaceDetector && os.Getenv("GORACE") == "" {
		// A -race binary sleeps 1 s before it exits (atexit_sleep_ms): spare every child that second.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	return cmd, nil
}

// Child is this program running again in another process, such as a lock
// holder that the lesson kills or freezes.
type Child struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{} // closed once the process has exited and been reaped
	err    error         // Wait's result, set before done closes
	once   sync.Once
}

// StartChild starts this program with args. Its stdout lines are read with WaitFor;
// its stderr is kept for errors. Stop it with Kill (or let it exit) and Wait.
func StartChild(ctx context.Context, args ...string) (*Child, error) {
	return StartChildAs(ctx, "main", args...)
}

// StartChildAs is StartChild with a role for the child (see ChildRole).
func StartChildAs(ctx context.Context, role string, args ...string) (*Child, error) {
	cmd, err := CommandAs(ctx, role, args...)
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
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

// Signal sends sig (SIGSTOP, SIGCONT...) to the child.
func (c *Child) Signal(sig syscall.Signal) error { return c.cmd.Process.Signal(sig) }

// Kill kills the child with SIGKILL, the way a crash would (no deferred
// Unlock, no lease revoke), and returns once it has been reaped.
func (c *Child) Kill() error {
	c.once.Do(func() { c.cmd.Process.Signal(syscall.SIGKILL) })
	c.Wait()
	return nil
}

// Stop stops the child as Ctrl-C stops this program: SIGTERM (and SIGCONT,
// should it be frozen), so that it cleans up, revoking its lease; if it is
// not gone within a grace period, SIGKILL. It returns once the child has been
// reaped. A child that has exited already is left as it is.
func (c *Child) Stop() {
	if !c.Exited() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		c.cmd.Process.Signal(syscall.SIGCONT)
		kill := time.AfterFunc(childGrace, func() { c.cmd.Process.Signal(syscall.SIGKILL) })
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
