// Package testmain runs a package's tests and exits without the race
// detector's second at exit.
//
// A -race binary sleeps atexit_sleep_ms (1 s) before it exits, so that other
// goroutines can still report a race. In a test binary the testing package has
// already failed any test during which a race was reported, and m.Run fails
// for one after; so once m.Run has passed, the sleep only costs every test
// package a second of the suite. It is skipped when m.Run passed and no
// coverage is written (runtime exit hooks, skipped too, write it).
package testmain

import (
	"os"
	"syscall"
	"testing"
)

// Run runs the tests and exits with their status.
func Run(m *testing.M) {
	Exit(m.Run())
}

// Exit ends the test binary with code, after the cleanup a TestMain did.
func Exit(code int) {
	if code == 0 && raceEnabled && testing.CoverMode() == "" {
		syscall.Exit(0)
	}
	os.Exit(code)
}
