package compose

import "testing"

// mkfifo: the fakes are shell scripts, run on Unix only.
func mkfifo(t *testing.T, _ string) { t.Skip("the fake docker-compose is a shell script: Unix only") }
