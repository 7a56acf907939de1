// Package workshop is the plumbing every etcd chapter shares, so that a
// chapter's main.go can show the article's program and little else:
//
//   - flags.go: -endpoints and -dial-timeout (the command line's plumbing,
//     Main, flags that check their values, the article's output format and
//     live lines for countdowns, temp dirs, is internal/cli);
//   - etcd.go, embedded.go: the etcd a chapter talks to (embedded, or
//     external with -endpoints) and a client whose requests have deadlines;
//   - session.go: sessions whose leases are granted and revoked with deadlines;
//   - locker.go: etcd's Locker panics; CatchLockerPanic makes that an error;
//   - label.go, tls.go: the room's labels and namespaces, and its CA;
//
// A new chapter is a folder NN-name with main.go (main calls cli.Main(run)),
// main_test.go and README.md; it may use anything here. A second process of
// the same program, for a holder to kill or freeze, is internal/proc.
package workshop
