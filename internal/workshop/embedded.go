package workshop

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"etcd-lock-workshop/internal/cli"
)

// Fsync is whether embedded members flush each write to disk before they
// answer, as etcd does in production; a chapter's members do, and so do
// benchmarks. Tests turn it off (workshoptest.Main): their etcds' data goes at
// the end, and the flushes cost a tenth to a fifth of a chapter's test CPU.
var Fsync = true

// EmbeddedOptions tune an embedded member; the zero value is right for a chapter.
type EmbeddedOptions struct {
	// TickMs and ElectionMs default to 10 and 100: start-up in ~0.1 s, and a
	// minimum lease TTL of 1 s (etcd raises shorter TTLs to 1.5 election timeouts).
	TickMs, ElectionMs uint
	// ClientListen is the host:port clients reach it on (default: a free
	// loopback port), and ClientAdvertise the host it names to them.
	ClientListen, ClientAdvertise string
	// ClientCert and ClientKey are files of a certificate for the client
	// URLs: with them, clients reach it on https:// only.
	ClientCert, ClientKey string
	// BcryptCost is how hard users' passwords are to hash (default bcrypt's
	// 10). Each check of a password costs a client's first request that much:
	// under -race 0.8 s at 10, 30 ms at 4, bcrypt's least, which tests use.
	BcryptCost uint
}

// Embedded is a real single-member etcd server running inside this process.
type Embedded struct {
	etcd *embed.Etcd
	dir  string
	// URL is the client URL, on a free loopback port.
	URL string
}

// StartEmbedded starts an etcd member on free loopback ports with its data in a
// temp dir, and returns once it serves clients (or fails, or ctx ends).
func StartEmbedded(ctx context.Context, opt EmbeddedOptions) (*Embedded, error) {
	dir, err := cli.TempDir("etcd")
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "workshop"
	cfg.Dir = dir
	// Port 0: the kernel picks free ports, so chapters and test packages run side by side.
	free, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*free}, []url.URL{*free}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*free}, []url.URL{*free}
	if opt.ClientListen != "" {
		listen := url.URL{Scheme: scheme(opt), Host: opt.ClientListen}
		advertise := listen
		if opt.ClientAdvertise != "" {
			advertise.Host = opt.ClientAdvertise
		}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{listen}, []url.URL{advertise}
	}
	if opt.ClientCert != "" {
		cfg.ClientTLSInfo.CertFile, cfg.ClientTLSInfo.KeyFile = opt.ClientCert, opt.ClientKey
		for i := range cfg.ListenClientUrls {
			cfg.ListenClientUrls[i].Scheme, cfg.AdvertiseClientUrls[i].Scheme = "https", "https"
		}
	}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = !Fsync
	cfg.TickMs, cfg.ElectionMs = 10, 100
	if opt.TickMs > 0 {
		cfg.TickMs, cfg.ElectionMs = opt.TickMs, opt.ElectionMs
	}
	if opt.BcryptCost > 0 {
		cfg.BcryptCost = opt.BcryptCost
	}
	Silence(cfg)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	s := &Embedded{etcd: e, dir: dir, URL: scheme(opt) + "://" + e.Clients[0].Addr().String()}
	select {
	case <-e.Server.ReadyNotify():
		return s, nil
	case err := <-e.Err():
		s.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(30 * time.Second):
		s.Close()
		return nil, fmt.Errorf("embedded etcd not ready after 30s")
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
}

// Close stops the server and removes its data.
func (s *Embedded) Close() {
	s.etcd.Close()
	os.RemoveAll(s.dir)
}

func scheme(opt EmbeddedOptions) string {
	if opt.ClientCert != "" {
		return "https"
	}
	return "http"
}

// Silence routes an embedded etcd's JSON logs nowhere, including the lines embed
// prints on Close ("setting up serving from embedded etcd failed ... mux: server closed").
func Silence(cfg *embed.Config) {
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
}
