// Package testmain runs a package's tests more at once than go test's
// default, and exits without the race detector's second at exit.
//
// Most of the workshop's tests wait: for a lease to expire, an election, a
// child process. go test runs GOMAXPROCS parallel tests at a time (2 on a
// 2-core laptop); unless -parallel is given, Parallel lets 8 run at once.
//
// A -race binary sleeps atexit_sleep_ms (1 s) before it exits, so that other
// goroutines can still report a race. In a test binary the testing package has
// already failed any test during which a race was reported, and m.Run fails
// for one after; so once m.Run has passed, the sleep only costs every test
// package a second of the suite. It is skipped when m.Run passed and no
// coverage is written (runtime exit hooks, skipped too, write it).
package testmain

import (
	"flag"
	"os"
	"strconv"
	"syscall"
	"testing"
)

// waiters is how many parallel tests of a package run at once.
const waiters = 8

// Run runs the tests and exits with their status.
func Run(m *testing.M) {
	Parallel()
	Exit(m.Run())
}

// Parallel raises -test.parallel to waiters, unless the command line set it.
// A TestMain calls it before m.Run.
func Parallel() {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(waiters))
	}
}

// Exit ends the test binary with code, after the cleanup a TestMain did.
func Exit(code int) {
	if code == 0 && raceEnabled && testing.CoverMode() == "" {
		syscall.Exit(0)
	}
	os.Exit(code)
}
