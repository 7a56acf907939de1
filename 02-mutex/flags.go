// Not the lesson: the command line. A bad flag or a number out of range
// prints the usage and exits with status 2. (The etcd chapters have the same
// in internal/workshop; this chapter stays free of etcd.)
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
)

// usageError is a bad command line; the usage has already been printed.
type usageError struct{ error }

// parse parses args; a bad flag, a number out of range or a stray argument is a usageError.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// exitCode is the process status for run's error: 0 (also for -help),
// 2 for a bad command line, 1 for anything else, printed as one line.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		return 2
	default:
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
}

// intFlag defines an int flag that accepts only lo to hi.
func intFlag(fs *flag.FlagSet, name string, value, lo, hi int, usage string) *int {
	v := &intValue{value, lo, hi}
	fs.Var(v, name, fmt.Sprintf("%s (%d to %d)", usage, lo, hi))
	return &v.n
}

type intValue struct{ n, lo, hi int }

func (v *intValue) String() string { return strconv.Itoa(v.n) }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return errors.New("not a whole number")
	case n < v.lo || n > v.hi:
		return fmt.Errorf("must be %d to %d", v.lo, v.hi)
	}
	v.n = n
	return nil
}
