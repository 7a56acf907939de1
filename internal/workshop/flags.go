package workshop

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// EndpointsEnv is read when -endpoints is not given.
const EndpointsEnv = "ETCD_ENDPOINTS"

// UsageError is a bad command line; the flag set has already printed the usage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Flags are the options of every etcd chapter: which etcd, and how long to wait for it.
type Flags struct {
	Endpoints   string
	DialTimeout time.Duration
}

// NewFlagSet returns a flag set that reports errors instead of exiting,
// so a chapter's run can be called from a test.
func NewFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// EtcdFlags registers -endpoints and -dial-timeout on fs.
func EtcdFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Endpoints, "endpoints", os.Getenv(EndpointsEnv),
		"comma-separated client URLs of an external etcd (default: $"+EndpointsEnv+", else an embedded etcd)")
	fs.DurationVar(&f.DialTimeout, "dial-timeout", 5*time.Second,
		"how long to wait for etcd to answer before giving up")
	return f
}

// EndpointList returns the -endpoints URLs, or nil for an embedded etcd.
func (f *Flags) EndpointList() []string {
	var list []string
	for _, ep := range strings.Split(f.Endpoints, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			list = append(list, ep)
		}
	}
	return list
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
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
		return &UsageError{err}
	}
	return nil
}
