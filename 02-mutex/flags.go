// Not the lesson: the command line. A bad flag, a number out of range or a
// stray argument prints the usage and exits with status 2. (The etcd chapters
// get the same from internal/workshop; this chapter stays free of etcd.)
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

func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return usageError{err}
	}
	return err
}

// exitCode is the process status for run's error, which it prints in one line.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		return 2
	}
	fmt.Fprintln(stderr, "error:", err)
	return 1
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
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < v.lo || n > v.hi {
		return fmt.Errorf("must be %d to %d", v.lo, v.hi)
	}
	v.n = n
	return nil
}
