package workshop

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// TLSConfig trusts the CA in file (PEM), and that CA only: the room's etcd
// has a certificate no laptop's system trusts. An empty file is nil: the
// system's CAs, for an https:// etcd whose certificate they sign.
func TLSConfig(file string) (*tls.Config, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-cacert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-cacert %s: no PEM certificate in it (the room's is ca.pem, from the view's page)", file)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// handshake says in one line why an https:// etcd's TLS handshake fails, or
// returns nil (also when nothing answers: that is for the dial to say).
func handshake(endpoints []string, config *tls.Config, caFile string, timeout time.Duration) error {
	for _, ep := range endpoints {
		hostPort, ok := strings.CutPrefix(ep, "https://")
		if !ok {
			continue
		}
		hostPort = strings.TrimSuffix(hostPort, "/")
		c := &tls.Config{MinVersion: tls.VersionTLS12}
		if config != nil {
			c = config.Clone()
		}
		c.NextProtos = []string{"h2"}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: min(timeout, time.Second)}, "tcp", hostPort, c)
		if err != nil {
			return untrusted(ep, caFile, err)
		}
		conn.Close()
	}
	return nil
}

// untrusted says in one line that an https:// etcd's certificate is not
// signed by a CA this client trusts, or returns nil.
func untrusted(all, caFile string, err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.HostnameError
	switch {
	case errors.As(err, &unknown) || strings.Contains(err.Error(), "certificate signed by unknown authority"):
		if caFile == "" {
			return fmt.Errorf("etcd at %s has a certificate this machine does not trust: give -cacert FILE, "+
				"the room's CA (ca.pem on the view's page; compare its SHA-256 with the teacher's)", all)
		}
		return fmt.Errorf("etcd at %s has a certificate that %s did not sign: is it this room's CA?", all, caFile)
	case errors.As(err, &invalid) || strings.Contains(err.Error(), "certificate is valid for"):
		return fmt.Errorf("etcd at %s: its certificate is not for that address (%v): use the address the teacher's line gives", all, err)
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("etcd at %s does not speak TLS: use http://", all)
	}
	return nil
}
