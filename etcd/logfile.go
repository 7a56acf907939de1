package main

// Not the lesson: where `go run ./etcd` keeps etcd's log.

import (
	"etcd-lock-workshop/internal/cli"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		if pid, err := strconv.Atoi(digits); err == nil && !cli.Alive(pid) {
			os.Remove(file)
		}
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d.log", logPrefix, os.Getpid()))
	file, err := os.Create(path)
	return path, file, err
}
