package main

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/workshoptest"
)

func TestMain(m *testing.M) { workshoptest.Main(m, run) }

// startView runs go run ./etcd/view for endpoint on a free loopback port
// and returns the page's URL; Ctrl-C stops it at cleanup.
func startView(t *testing.T, endpoint string) string {
	t.Helper()
	lines, stderr := workshoptest.Serve(t, run, "-endpoints", endpoint, "-listen", "127.0.0.1:0")
	line, err := lines.ReadString('\n')
	require.NoError(t, err, stderr.String())
	go io.Copy(io.Discard, lines)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "view: ")
	require.True(t, ok, line)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/$`, url)
	return url
}

// Bad command lines: the usage and exit status 2; no etcd: one line, exit 1;
// -h names the etcd the view reads without -endpoints (not an embedded one).
func TestBadCommandLines(t *testing.T) {
	workshoptest.CheckExits(t,
		workshoptest.ExitCase{Name: "help", Args: []string{"-h"}, Status: 0, Says: "else " + defaultEndpoint + ")"},
		workshoptest.ExitCase{Name: "bad listen", Args: []string{"-listen", "nonsense"}, Status: 2, Says: `-listen "nonsense"`},
		workshoptest.ExitCase{Name: "port out of range", Args: []string{"-listen", ":99999"}, Status: 2,
			Says: `port "99999" is not a number from 0 to 65535`},
		// workshoptest.Unreachable, with the view's own hint: it starts no etcd, as a chapter does.
		workshoptest.ExitCase{Name: "unreachable etcd", Args: []string{"-endpoints", workshoptest.Blackhole(t), "-dial-timeout", "1s"},
			Status: 1, Says: "is it running? (start one: go run ./etcd)\n"},
	)
}
