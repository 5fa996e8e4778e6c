package webtransport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"time"
)

// SelfSignedValidity is how long a certificate made by SelfSigned is valid:
// browsers accept a certificate by its hash only when it is valid for less
// than 14 days.
const SelfSignedValidity = 13 * 24 * time.Hour

// SelfSigned makes a self-signed certificate for hosts (names or IP
// addresses) that browsers accept from the WebTransport constructor's
// serverCertificateHashes option, for development and tests: an ECDSA P-256
// key and a validity of SelfSignedValidity from now (a program that runs
// longer must make a new one, and give its pages the new hash). Hash gives
// the value to pass:
//
//	new WebTransport(url, { serverCertificateHashes: [{ algorithm: "sha-256", value: hashBytes }] })
//
// or, with the Socket.IO client:
//
//	io(url, { transports: ["webtransport", "polling"],
//	  transportOptions: { webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value: hashBytes }] } } })
func SelfSigned(hosts ...string) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("webtransport: SelfSigned needs a host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Minute), // clocks differ a little
		NotAfter:              now.Add(SelfSignedValidity - time.Minute),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Hash returns the SHA-256 hash of cert's leaf (its first certificate), the
// value of a browser's serverCertificateHashes entry.
func Hash(cert tls.Certificate) [32]byte {
	if len(cert.Certificate) == 0 {
		return [32]byte{}
	}
	return sha256.Sum256(cert.Certificate[0])
}
