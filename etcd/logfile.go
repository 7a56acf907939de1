package main

// Not the lesson: where `go run ./etcd` keeps etcd's log.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const logPrefix = "etcd-lock-workshop-etcd-pid"

// createLogFile creates this run's log file, named with its process id, so
// that several etcds at once (a second one started by mistake, or a cluster
// by hand) each keep their own. The logs of earlier runs stay until the next
// start, for reading after a failure; then those of ended runs are removed.
func createLogFile() (string, *os.File, error) {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), logPrefix+"*.log"))
	for _, file := range old {
		digits := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), logPrefix), ".log")
		if pid, err := strconv.Atoi(digits); err == nil && !alive(pid) {
			os.Remove(file)
		}
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d.log", logPrefix, os.Getpid()))
	file, err := os.Create(path)
	return path, file, err
}

// alive reports whether a process with this id exists (EPERM: it does, but is not ours).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
