package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// roomCA is the room's own certificate authority, made for one session: its
// certificate (what learners pass to -cacert), and the etcd's certificate
// and key, which it signed for the addresses the room's etcd is reached at.
type roomCA struct {
	caFile, certFile, keyFile string
	pem                       []byte
}

// fingerprint is the SHA-256 of ca.pem as a file, what sha256sum (Linux),
// shasum -a 256 (macOS) and certutil -hashfile ca.pem SHA256 (Windows) print.
func (ca roomCA) fingerprint() string {
	sum := sha256.Sum256(ca.pem)
	return hex.EncodeToString(sum[:])
}

// newRoomCA writes a CA and a certificate for hosts into dir.
func newRoomCA(dir string, hosts []string) (roomCA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return roomCA{}, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd-lock-workshop room CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour), // a workshop, not a year
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return roomCA{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return roomCA{}, err
	}
	cert := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "etcd-lock-workshop room"},
		NotBefore: ca.NotBefore, NotAfter: ca.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			cert.IPAddresses = append(cert.IPAddresses, ip)
		} else if h != "" {
			cert.DNSNames = append(cert.DNSNames, h)
		}
	}
	certDER, err := x509.CreateCertificate(rand.Reader, cert, ca, &key.PublicKey, caKey)
	if err != nil {
		return roomCA{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return roomCA{}, err
	}
	r := roomCA{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "etcd.pem"), keyFile: filepath.Join(dir, "etcd-key.pem"),
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	for _, f := range []struct {
		path string
		data []byte
	}{
		{r.caFile, r.pem},
		{r.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})},
		{r.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})},
	} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return roomCA{}, err
		}
	}
	return r, nil
}
