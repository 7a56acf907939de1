package proc

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// FreezeName and ThawName say to the learner how a child is frozen and
// thawed: Windows has no SIGSTOP, but it suspends every thread of a process
// as the debuggers do, through ntdll.
const FreezeName, ThawName = "NtSuspendProcess", "NtResumeProcess"

var (
	ntdll          = windows.NewLazySystemDLL("ntdll.dll")
	suspendThreads = ntdll.NewProc("NtSuspendProcess")
	resumeThreads  = ntdll.NewProc("NtResumeProcess")
)

func freeze(p *os.Process) error { return callOnProcess(suspendThreads, p.Pid) }
func thaw(p *os.Process) error   { return callOnProcess(resumeThreads, p.Pid) }

func callOnProcess(proc *windows.LazyProc, pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_SUSPEND_RESUME, false, uint32(pid))
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	if status, _, _ := proc.Call(uintptr(h)); status != 0 {
		return fmt.Errorf("%s: NTSTATUS %#x", proc.Name, status)
	}
	return nil
}
