package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tempPrefix starts the name of every temp dir the workshop makes.
const tempPrefix = "etcd-lock-workshop-"

// TempDir makes a temp dir for an etcd's data (kind says whose: "etcd",
// "cluster"), named with this process's id. A program stopped by a signal
// removes its dirs on the way out, but SIGKILL cannot be handled: so first it
// removes the dirs whose process is gone, left by earlier runs.
func TempDir(kind string) (string, error) {
	removeStale()
	return os.MkdirTemp("", fmt.Sprintf("%s%s-pid%d-", tempPrefix, kind, os.Getpid()))
}

// removeStale removes the workshop's temp dirs whose process no longer exists.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*-pid*-*"))
	for _, dir := range dirs {
		if pid := ownerPid(filepath.Base(dir)); pid > 0 && !Alive(pid) {
			os.RemoveAll(dir)
		}
	}
}

// ownerPid reads N from "etcd-lock-workshop-KIND-pidN-RANDOM", or returns 0.
func ownerPid(name string) int {
	_, rest, ok := strings.Cut(name, "-pid")
	if !ok {
		return 0
	}
	digits, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	if err != nil {
		return 0
	}
	return pid
}
