package cli

import "golang.org/x/sys/windows"

// Alive reports whether a process with this id exists (access denied: it
// does, but is not ours): whether the owner of a temp dir or a log file is
// still running. A process that has exited but whose handle someone still
// holds is not alive: its exit code is set.
func Alive(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return err == windows.ERROR_ACCESS_DENIED
	}
	defer windows.CloseHandle(h)
	var code uint32
	return windows.GetExitCodeProcess(h, &code) == nil && code == stillActive
}

// stillActive is GetExitCodeProcess's answer for a running process (STILL_ACTIVE).
const stillActive = 259
