package proc

import (
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

var joinJob sync.Once

// dieWithParent puts this process, before its first child, in a job object
// that kills every process in it once its last handle closes: this process
// holds that handle until it dies, of anything, and the children it starts
// are born in the job. A suspended child, which cannot read the end of its
// pipe, goes with it too. Best effort: a process that may not join a job
// keeps the pipe alone.
var dieWithParent = func(*exec.Cmd) {
	joinJob.Do(func() {
		job, err := windows.CreateJobObject(nil, nil)
		if err != nil {
			return
		}
		limits := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
		limits.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
		if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
			uintptr(unsafe.Pointer(&limits)), uint32(unsafe.Sizeof(limits))); err != nil {
			windows.CloseHandle(job)
			return
		}
		if err := windows.AssignProcessToJobObject(job, windows.CurrentProcess()); err != nil {
			windows.CloseHandle(job)
		}
		// The handle is never closed: it closes when this process ends.
	})
}
