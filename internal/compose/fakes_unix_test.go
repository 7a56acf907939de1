//go:build unix

package compose

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeTools makes PATH hold only these commands, shell scripts with these bodies.
func fakeTools(t *testing.T, tools map[string]string) {
	dir := t.TempDir()
	for name, body := range tools {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	}
	t.Setenv("PATH", dir)
}

// mkfifo makes a named pipe: a read of it returns once a fake has written.
func mkfifo(t *testing.T, path string) { require.NoError(t, syscall.Mkfifo(path, 0o600)) }
