package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// UsageError is a bad command line; the usage has already been printed.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// NewFlagSet returns a flag set that reports errors instead of exiting,
// so a chapter's run can be called from a test.
func NewFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args; a bad flag or a stray argument is a *UsageError.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return &UsageError{err}
	}
	if fs.NArg() > 0 {
		return BadValue(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// BadValue reports a command line that parses but makes no sense (two flags
// that do not go together, say) as the flag package reports a bad flag: the
// message, the usage, and a *UsageError (exit status 2).
func BadValue(fs *flag.FlagSet, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	fmt.Fprintln(fs.Output(), err)
	fs.Usage()
	return &UsageError{err}
}

// Int defines an int flag that accepts only values from lo to hi: any other
// is a bad flag, with the usage and exit status 2.
func Int(fs *flag.FlagSet, name string, value, lo, hi int, usage string) *int {
	p := new(int)
	IntVar(fs, p, name, value, lo, hi, usage)
	return p
}

// IntVar is Int, storing the value in *p.
func IntVar(fs *flag.FlagSet, p *int, name string, value, lo, hi int, usage string) {
	*p = value
	fs.Var(&ranged[int]{p, lo, hi, "not a whole number", strconv.Atoi}, name, fmt.Sprintf("%s (an `int` from %d to %d)", usage, lo, hi))
}

// Duration defines a duration flag that accepts only values from lo to hi.
func Duration(fs *flag.FlagSet, name string, value, lo, hi time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	DurationVar(fs, p, name, value, lo, hi, usage)
	return p
}

// DurationVar is Duration, storing the value in *p.
func DurationVar(fs *flag.FlagSet, p *time.Duration, name string, value, lo, hi time.Duration, usage string) {
	*p = value
	fs.Var(&ranged[time.Duration]{p, lo, hi, "not a duration such as 500ms, 2s or 1m", time.ParseDuration},
		name, fmt.Sprintf("%s (a `duration` from %s to %s)", usage, short(lo), short(hi)))
}

// ranged is a flag.Value that refuses what does not parse or is out of range.
type ranged[T int | time.Duration] struct {
	p      *T
	lo, hi T
	what   string // said when the value does not parse
	parse  func(string) (T, error)
}

func (r *ranged[T]) String() string {
	var v T
	if r != nil && r.p != nil { // else the flag package's zero value, for -help
		v = *r.p
	}
	return show(v)
}

func show[T int | time.Duration](v T) string {
	if d, ok := any(v).(time.Duration); ok {
		return short(d)
	}
	return fmt.Sprint(v)
}

func (r *ranged[T]) Set(s string) error {
	v, err := r.parse(s)
	if err != nil {
		return errors.New(r.what)
	}
	if v < r.lo || v > r.hi {
		return fmt.Errorf("must be %v to %v", show(r.lo), show(r.hi))
	}
	*r.p = v
	return nil
}

// short formats a duration as a learner would write it: 1h, not 1h0m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// badPort is a host:port whose host is fine and whose port is not.
type badPort struct{ error }

// SplitHostPort is net.SplitHostPort that also refuses a port that is not
// a number from 0 to 65535, which net.Listen would refuse only later.
func SplitHostPort(s string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", err
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return "", "", badPort{fmt.Errorf("port %q is not a number from 0 to 65535", port)}
	}
	return host, port, nil
}

// Printable refuses a value a learner named that would print as something
// else (an escape sequence, a newline), a space, and one longer than max.
func Printable(s string, max int) error {
	switch {
	case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }):
		return errors.New("letters, digits and punctuation only (no spaces, no control characters)")
	case utf8.RuneCountInString(s) > max:
		return fmt.Errorf("longer than %d characters", max)
	}
	return nil
}
