package workshop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"etcd-lock-workshop/internal/cli"
)

// Etcd is the etcd a chapter talks to and a client for it: one member
// embedded in this process (Embedded), or the etcd named by -endpoints.
// A chapter that crashes members holds a cluster.Cluster, which adds them.
type Etcd struct {
	Client    *clientv3.Client
	Endpoints []string
	// Timeout bounds every request that is not meant to wait (all but Lock).
	Timeout time.Duration
	// Credentials are the user this program is, for every client it makes.
	Credentials Credentials
	// CACert is the file of the CA this program trusts for an https:// etcd.
	CACert string
	// Name is this program's label, Namespace the prefix of its keys (see label.go).
	Name, Namespace string
	label           bool
	program         string
	embedded        *Embedded
	stderr          io.Writer // where a lease or key left after Ctrl-C is named
	unrevoked       sync.Map  // leases named as left: clientv3.LeaseID -> true (cleanup.go)
}

// Connect starts an embedded etcd, or checks that the -endpoints one answers within
// the dial timeout, and says on stderr which etcd is in use. Close it when done.
func Connect(ctx context.Context, f *Flags, stderr io.Writer) (*Etcd, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	creds, err := f.Credentials()
	if err != nil {
		return nil, err
	}
	e := &Etcd{Endpoints: f.EndpointList(), Timeout: f.DialTimeout, Credentials: creds, CACert: f.CACert, Name: f.Name, program: f.program, stderr: stderr}
	e.label, e.Namespace = f.identity(len(e.Endpoints) == 0)
	if len(e.Endpoints) == 0 {
		start := time.Now()
		s, err := StartEmbedded(ctx, EmbeddedOptions{})
		if err != nil {
			return nil, err
		}
		e.embedded, e.Endpoints = s, []string{s.URL}
		fmt.Fprintf(stderr, "etcd: embedded etcd %s at %s, started in %s (use -endpoints for another)\n",
			version.Version, s.URL, time.Since(start).Round(time.Millisecond))
	}
	cli, err := e.Dial(ctx, e.Endpoints)
	if err != nil {
		e.Close()
		return nil, f.Explain(err)
	}
	e.Client = cli
	if e.embedded == nil {
		fmt.Fprintf(stderr, "etcd: external etcd at %s%s%s\n", strings.Join(e.Endpoints, ","), f.fromEnvNote(), e.keysNote())
	}
	return e, nil
}

// Check refuses endpoints from $ETCDCTL_ENDPOINTS that are no URLs (those of
// -endpoints were checked as the flag was parsed).
func (f *Flags) Check() error {
	if err := cli.CheckEndpoints(f.Endpoints); f.Endpoints != "" && err != nil {
		return fmt.Errorf("%s: %v", f.Where(), err)
	}
	return nil
}

// Explain adds to an error about an external etcd where its endpoints came from.
func (f *Flags) Explain(err error) error {
	switch {
	case f.Endpoints == "" || errors.Is(err, context.Canceled) || errors.As(err, new(refused)):
		return err
	case f.FromEnv():
		return fmt.Errorf("%w (these endpoints are $%s's: unset it, and a chapter starts an etcd of its own)", err, EndpointsEnv)
	case errors.As(err, new(unreachable)) && f.Unreachable != "":
		return fmt.Errorf("%w (%s)", err, f.Unreachable)
	default: // etcd answered (no quorum, say), or a CA file did not read: -endpoints is not the trouble
		return err
	}
}

func (f *Flags) fromEnvNote() string {
	if f.FromEnv() {
		return " (from $" + EndpointsEnv + ")"
	}
	return ""
}

// HealthKey is the key a new client reads to prove that etcd serves: an etcd
// user of the workshop must be allowed to read it.
const HealthKey = "health-check"

// NewClient returns a client that has been answered by etcd within timeout.
// clientv3.New does not dial, and a request without a deadline waits forever
// for a dead endpoint: a Get with a deadline is what proves etcd is there.
func NewClient(ctx context.Context, endpoints []string, timeout time.Duration) (*clientv3.Client, error) {
	return dial(ctx, endpoints, timeout, Credentials{}, "")
}

// Dial is NewClient for endpoints (all of e's, or some of its members), as
// e's user, within e's timeout, labelling its leases and keeping its keys
// under e's namespace as e's own client does.
func (e *Etcd) Dial(ctx context.Context, endpoints []string) (*clientv3.Client, error) {
	cli, err := dial(ctx, endpoints, e.Timeout, e.Credentials, e.CACert)
	if err == nil {
		identify(cli, e.label, e.Namespace, Label{Name: e.Name, Program: e.program}, e.Timeout)
	}
	return cli, err
}

// keysNote says, on the line naming the etcd, where this program's keys go.
func (e *Etcd) keysNote() string {
	if e.Namespace == "" {
		return ""
	}
	return ", keys under " + e.Namespace
}

// ChildFlags are the flags that make a child process of this program use
// the same etcd, as the same user.
func (e *Etcd) ChildFlags() []string {
	flags := []string{"-endpoints", strings.Join(e.Endpoints, ","), "-dial-timeout", e.Timeout.String()}
	if e.Credentials.User != "" {
		flags = append(flags, "-user", e.Credentials.User+":"+e.Credentials.Password)
	}
	if e.CACert != "" {
		flags = append(flags, "-cacert", e.CACert)
	}
	if e.label {
		flags = append(flags, "-name", e.Name)
	}
	if e.Namespace != "" {
		flags = append(flags, "-namespace", e.Namespace)
	}
	return flags
}

func dial(ctx context.Context, endpoints []string, timeout time.Duration, creds Credentials, caFile string) (*clientv3.Client, error) {
	tlsConfig, err := TLSConfig(caFile)
	if err != nil {
		return nil, err
	}
	// First, as a browser would: gRPC reports a certificate it does not
	// trust only as a request that timed out.
	if why := handshake(endpoints, tlsConfig, caFile, timeout); why != nil {
		return nil, refused{why}
	}
	cli, err := clientv3.New(clientv3.Config{
		TLS:         tlsConfig,
		Endpoints:   endpoints,
		DialTimeout: timeout,
		Username:    creds.User,
		Password:    creds.Password,
		Context:     ctx,          // Ctrl-C also ends blocked calls such as Locker.Lock
		Logger:      zap.NewNop(), // retries are reported as errors, not JSON lines
	})
	if err != nil {
		if refused := refusal(endpoints, creds, err); refused != nil {
			return nil, refused
		}
		return nil, fmt.Errorf("etcd client for %s: %w", strings.Join(endpoints, ","), err)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := cli.Get(rctx, HealthKey); err != nil {
		defer cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if refused := refusal(endpoints, creds, err); refused != nil {
			return nil, refused
		}
		return nil, diagnose(ctx, cli, endpoints, timeout, err)
	}
	return cli, nil
}

// unreachable is an etcd that does not answer at all.
type unreachable struct{ error }

// refused is an etcd's no to this client's user: etcd answered, so nothing
// about where the endpoints came from helps.
type refused struct{ error }

// refusal says in one line why an etcd with authentication on refused this
// client, or returns nil if it did not.
func refusal(endpoints []string, creds Credentials, err error) error {
	if why := refusalReason(strings.Join(endpoints, ","), creds, err); why != nil {
		return refused{why}
	}
	return nil
}

func refusalReason(all string, creds Credentials, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrUserEmpty), errors.Is(err, rpctypes.ErrGRPCUserEmpty):
		return fmt.Errorf("etcd at %s has authentication on: give -user NAME:PASSWORD", all)
	case errors.Is(err, rpctypes.ErrAuthFailed), errors.Is(err, rpctypes.ErrGRPCAuthFailed):
		return fmt.Errorf("etcd at %s refused user %q: wrong password, or no such user", all, creds.User)
	case errors.Is(err, rpctypes.ErrPermissionDenied), errors.Is(err, rpctypes.ErrGRPCPermissionDenied):
		return fmt.Errorf("etcd at %s: user %q may not read the key the workshop checks etcd with (%v)", all, creds.User, err)
	}
	return nil
}

// diagnose says why a read failed: nothing answers (etcd is not running), or
// members answer but cannot agree (no quorum, no leader).
func diagnose(ctx context.Context, client *clientv3.Client, endpoints []string, timeout time.Duration, readErr error) error {
	all := strings.Join(endpoints, ",")
	// Each member answers Status for itself, no quorum needed; all at once,
	// so that the diagnosis costs a second at most, however many are down.
	leaders := make([]uint64, len(endpoints))
	answered := make([]bool, len(endpoints))
	var wg sync.WaitGroup
	for i, ep := range endpoints {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, min(timeout, time.Second))
			defer cancel()
			if st, err := client.Status(sctx, ep); err == nil {
				answered[i], leaders[i] = true, st.Leader
			}
		})
	}
	wg.Wait()
	var up, down []string
	leader := false
	for i, ep := range endpoints {
		if !answered[i] {
			down = append(down, ep)
			continue
		}
		up = append(up, ep)
		leader = leader || leaders[i] != 0
	}
	switch {
	case len(up) == 0:
		why := "" // a deadline is what "within" says already
		if !errors.Is(readErr, context.DeadlineExceeded) {
			why = fmt.Sprintf(" (%v)", readErr)
		}
		return unreachable{fmt.Errorf("cannot reach etcd at %s within %s%s: is it running?", all, timeout, why)}
	case len(down) > 0 || !leader:
		return fmt.Errorf("etcd at %s has no quorum (no leader), so it cannot serve a read: members answering: %s; not answering: %s",
			all, strings.Join(up, ","), cli.OrNone(down, ","))
	default:
		return fmt.Errorf("etcd at %s answers but did not serve a read within %s: %v", all, timeout, readErr)
	}
}

// Shared reports whether the etcd is one named by -endpoints, which others
// may be using: a chapter does nothing there that would disturb them.
func (e *Etcd) Shared() bool { return e.embedded == nil }

// WithTimeout bounds one request.
func (e *Etcd) WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.Timeout)
}

// Close closes the client and stops an embedded etcd, removing its data.
func (e *Etcd) Close() {
	if e.Client != nil {
		e.Client.Close()
	}
	if e.embedded != nil {
		e.embedded.Close()
	}
}
