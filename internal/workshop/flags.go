package workshop

import (
	"errors"
	"etcd-lock-workshop/internal/cli"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// EndpointsEnv is read when -endpoints is not given. It is etcdctl's own
// variable, so `go tool etcdctl` and the chapters follow one setting; an
// ETCD_* name would be read by etcd's server as one of its flags.
const EndpointsEnv = "ETCDCTL_ENDPOINTS"

// UserEnv and PasswordEnv are etcdctl's own variables for -user and
// -password, read when the flags are not given.
const UserEnv, PasswordEnv = "ETCDCTL_USER", "ETCDCTL_PASSWORD"

// CACertEnv is etcdctl's variable for -cacert.
const CACertEnv = "ETCDCTL_CACERT"

// Flags are the options of every etcd chapter: which etcd, how long to wait
// for it, and who to be when it has authentication on.
type Flags struct {
	Endpoints   string
	DialTimeout time.Duration
	User        string // name, or name:password, as etcdctl takes it
	Password    string
	CACert      string // the file of the CA that signed an https:// etcd's certificate
	// Name is the learner, as the room's view shows them (see label.go), and
	// Namespace the prefix of a private chapter's keys on a shared etcd.
	Name, Namespace string
	// Unreachable is what to do when nothing answers at -endpoints.
	Unreachable           string
	nameSet, namespaceSet bool
	private               bool   // the chapter needs its lock to itself
	program               string // the chapter, as its label names it
	env                   string // $ETCDCTL_ENDPOINTS, the default of -endpoints
}

// EtcdFlags registers -endpoints, -dial-timeout, -user, -password and -name
// on fs: the flags of a chapter that shares its lock with the room (03-05).
func EtcdFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{Endpoints: os.Getenv(EndpointsEnv), env: os.Getenv(EndpointsEnv), Name: cli.UserAtHost(maxNameLen), program: fs.Name(),
		Unreachable: "without -endpoints, a chapter starts an etcd of its own"}
	fs.Var((*cli.EndpointsValue)(&f.Endpoints), "endpoints",
		"comma-separated client `URLs` of an etcd that is already running (default: $"+EndpointsEnv+", else an embedded etcd)")
	cli.DurationVar(fs, &f.DialTimeout, "dial-timeout", 5*time.Second, 100*time.Millisecond, time.Hour,
		"how long to wait for etcd to answer before giving up")
	f.User = os.Getenv(UserEnv)
	fs.Func("user", "`name` or name:password of a user of an etcd with authentication (default: $"+UserEnv+")",
		func(s string) error {
			name, password, colon := strings.Cut(s, ":")
			if err := cli.Printable(name, maxUserLen); err != nil {
				return fmt.Errorf("the name: %w", err)
			}
			if colon && (name == "" || password == "") {
				return errors.New("NAME:PASSWORD, with both")
			}
			f.User = s
			return nil
		})
	fs.StringVar(&f.Password, "password", os.Getenv(PasswordEnv), "the user's password (default: $"+PasswordEnv+")")
	fs.StringVar(&f.CACert, "cacert", os.Getenv(CACertEnv),
		"`file` of the CA that signed the certificate of an https:// etcd, such as the room's (default: $"+CACertEnv+")")
	fs.Var(nameValue{&f.Name, &f.nameSet}, "name",
		"`label` the room's view shows for this program's sessions on a shared etcd")
	return f
}

// PrivateEtcdFlags are EtcdFlags for a chapter that needs its lock to itself
// (06-10): on an etcd named by -endpoints its keys go under -namespace.
func PrivateEtcdFlags(fs *flag.FlagSet) *Flags {
	f := EtcdFlags(fs)
	f.private = true
	fs.Func("namespace", "`prefix` of every key this program uses on an -endpoints etcd, so that "+
		"learners sharing it never wait for each other (default: "+LearnersPrefix+"NAME; \"\" for none)",
		func(s string) error {
			if s != "" && !strings.HasPrefix(s, "/") {
				return errors.New(`a prefix starts with "/", such as /learners/alice`)
			}
			if err := cli.Printable(s, maxNamespaceLen); err != nil {
				return err
			}
			// The chapters' keys start with "/": /learners/alice + /my-test-lock.
			f.Namespace, f.namespaceSet = strings.TrimSuffix(s, "/"), true
			return nil
		})
	return f
}

// maxUserLen and maxNamespaceLen keep what a learner names within a line
// of the projector: both are echoed in messages, the namespace in keys.
const maxUserLen, maxNamespaceLen = 40, 60

// Credentials are an etcd user's name and password; empty without authentication.
type Credentials struct{ User, Password string }

// Credentials splits -user name:password, as etcdctl does, and refuses a
// user without a password or a password without a user.
func (f *Flags) Credentials() (Credentials, error) {
	if f.User == "" {
		if f.Password != "" {
			return Credentials{}, errors.New("-password without -user: give the user too (-user NAME)")
		}
		return Credentials{}, nil
	}
	name, password, ok := strings.Cut(f.User, ":")
	if !ok {
		password = f.Password
	}
	if err := cli.Printable(name, maxUserLen); err != nil { // $ETCDCTL_USER's, unchecked as a flag
		return Credentials{}, fmt.Errorf("-user's name: %w", err)
	}
	switch {
	case name == "":
		return Credentials{}, errors.New("-user: no name before the colon (-user NAME:PASSWORD)")
	case password == "":
		return Credentials{}, fmt.Errorf("-user %q: no password: give -password, or -user NAME:PASSWORD", name)
	}
	return Credentials{name, password}, nil
}

// FromEnv reports whether the endpoints are $ETCDCTL_ENDPOINTS's, not -endpoints': a
// learner who exported it for etcdctl may not know the chapters read it too.
func (f *Flags) FromEnv() bool { return f.env != "" && f.Endpoints == f.env }

// Where says where the endpoints come from, for a message about them.
func (f *Flags) Where() string {
	if f.FromEnv() {
		return "$" + EndpointsEnv
	}
	return "-endpoints"
}

// EndpointList returns the -endpoints URLs, or nil for an embedded etcd.
func (f *Flags) EndpointList() []string { return cli.Endpoints(f.Endpoints) }
