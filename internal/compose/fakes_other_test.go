//go:build !unix

package compose

import "testing"

// The fake docker and docker-compose are shell scripts: Unix only.

func fakeTools(t *testing.T, _ map[string]string) {
	t.Skip("the fake docker and docker-compose are shell scripts: Unix only")
}

func mkfifo(t *testing.T, _ string) {
	t.Skip("the fake docker and docker-compose are shell scripts: Unix only")
}
