package proc_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshoptest"
)

// A child never outlives its parent, even one killed with kill -9, which
// leaves the parent no chance to stop it. A running child sees the end of
// its pipe from the parent (as on every system), stops as on Ctrl-C and
// revokes its lease: its key goes at once. A frozen child cannot read the
// pipe: Linux kills it with its parent (Pdeathsig), and its key goes when
// its lease expires, as a crashed holder's does.
func TestChildDiesWithItsParent(t *testing.T) {
	etcd := workshoptest.Etcd(t)
	for _, tc := range []struct {
		name    string
		args    []string
		ttl     int
		revoked bool // the child revoked its lease (else the key waits for the TTL)
	}{
		{"running, the pipe alone", []string{"-pipe-only"}, 60, true},
		{"frozen", []string{"-freeze"}, 6, false}, // a short TTL, but one that outlasts the checks before the kill
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-endpoints", etcd.Endpoints[0], "-ttl", fmt.Sprint(tc.ttl)}, tc.args...)
			parent, err := proc.StartAs(context.Background(), orphanParentRole, args...)
			require.NoError(t, err)
			defer parent.Kill()
			line, err := parent.WaitFor("ready", nil, time.Minute)
			require.NoError(t, err)
			var pid int
			var key string
			_, err = fmt.Sscanf(line, "ready %d %s", &pid, &key)
			require.NoError(t, err, line)
			defer func() {
				if alive(pid) {
					(&os.Process{Pid: pid}).Kill()
				}
			}()
			require.Len(t, workshoptest.Keys(t, etcd, key), 1, "the holder's key")

			require.NoError(t, parent.Kill()) // SIGKILL: the parent cleans up nothing
			killed := time.Now()
			assert.Eventually(t, func() bool { return !alive(pid) }, 5*time.Second, 10*time.Millisecond,
				"the child (pid %d) outlived its killed parent", pid)
			t.Logf("child gone %s after its parent was killed", time.Since(killed).Round(time.Millisecond))
			if !tc.revoked {
				assert.Len(t, workshoptest.Keys(t, etcd, key), 1, "killed frozen, it revoked nothing")
			}
			bound := 5 * time.Second // revoked: well before the 60 s TTL
			if !tc.revoked {
				bound += time.Duration(tc.ttl) * time.Second
			}
			assert.Eventually(t, func() bool { return len(workshoptest.Keys(t, etcd, key)) == 0 },
				bound, 50*time.Millisecond, "the holder's key outlived it")
			t.Logf("key gone %s after the parent was killed", time.Since(killed).Round(time.Millisecond))
		})
	}
}

// alive: the process exists and is no zombie. Killed with its parent, a
// child is a zombie until the system reaps it (here PID 1 may never do it).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil || !cli.Alive(pid) {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
