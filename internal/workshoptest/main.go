package workshoptest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/testmain"
	"etcd-lock-workshop/internal/workshop"
)

// Main is a chapter's TestMain. When a test starts the test binary again as a
// child (proc.Command), it plays the chapter. Otherwise it runs the tests
// with a learner's $ETCDCTL_ENDPOINTS (and user, and CA) ignored (every test picks its etcd
// itself, and the children inherit the cleared variable), and then fails if a
// temp dir of this process is left behind. Its embedded etcds skip the disk
// flushes, unless the run benchmarks (see workshop.Fsync).
func Main(m *testing.M, run cli.RunFunc) {
	proc.RunIfChild(run)
	for _, env := range []string{workshop.EndpointsEnv, workshop.UserEnv, workshop.PasswordEnv, workshop.CACertEnv} {
		os.Unsetenv(env)
	}
	testmain.Parallel()
	if !benchmarking() {
		workshop.Fsync = false
	}
	code := m.Run()
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("etcd-lock-workshop-*-pid%d-*", os.Getpid())))
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the tests left temp dirs behind: %v\n", left)
		for _, dir := range left {
			os.RemoveAll(dir)
		}
		code = 1
	}
	testmain.Exit(code)
}

// benchmarking reports whether go test was asked to run benchmarks (-bench).
func benchmarking() bool {
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
}
