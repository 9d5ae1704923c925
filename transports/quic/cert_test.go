package quic

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"kad/identity"
	"kad/protocol"
	"kad/transports"
)

// selfSigned makes a certificate for pub signed by signer, named cn, with the extensions
// given and no other.
func selfSigned(t *testing.T, pub, signer any, cn string, exts ...pkix.Extension) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(1),
		Subject:         pkix.Name{CommonName: cn},
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(time.Hour),
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// unknownCritical is a critical extension no implementation knows (an OID under the
// example arc of RFC 5612's enterprise number 32473).
var unknownCritical = pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1}, Critical: true, Value: []byte{0x05, 0x00}}

// badCertificates are certificates a node must refuse, plus a valid one as a control.
func badCertificates(t *testing.T) []struct {
	name  string
	cert  tls.Certificate
	valid bool
} {
	t.Helper()
	key := newKey(t)
	good, err := newCertificate(key, identity.IDFromKey(key))
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := newKey(t)
	id := identity.IDFromKey(key).String()
	return []struct {
		name  string
		cert  tls.Certificate
		valid bool
	}{
		{"valid", good, true},
		{"ecdsa key", tls.Certificate{Certificate: [][]byte{selfSigned(t, ec.Public(), ec, id)}, PrivateKey: ec}, false},
		{"signed by another key", tls.Certificate{Certificate: [][]byte{selfSigned(t, key.Public(), other, id)}, PrivateKey: key}, false},
		{"common name not an id", tls.Certificate{Certificate: [][]byte{selfSigned(t, key.Public(), key, "node-1")}, PrivateKey: key}, false},
		// Extensions are not read (PROTOCOL.md, "QUIC"): neither an unknown critical one
		// nor the absence of key usage refuses a certificate.
		{"unknown critical extension", tls.Certificate{Certificate: [][]byte{selfSigned(t, key.Public(), key, id, unknownCritical)}, PrivateKey: key}, true},
	}
}

func TestRefusesBadCertificates(t *testing.T) {
	for _, tt := range badCertificates(t) {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("as server", func(t *testing.T) {
				a := newTransport(t, Options{})
				_, _, err := a.Call(testCtx(t), protocol.Contact{Addr: rawServer(t, tt.cert, nil)}, []byte("x"))
				if tt.valid && err != nil {
					t.Fatalf("valid certificate refused: %v", err)
				}
				if !tt.valid && err == nil {
					t.Fatal("call to a server with a bad certificate succeeded")
				}
				t.Logf("err: %v", err)
			})
			t.Run("as client", func(t *testing.T) {
				b := newTransport(t, Options{})
				var calls atomic.Int32
				serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
					calls.Add(1)
					return nil, nil
				})
				err := rawCall(t, tt.cert, b.LocalAddr())
				if tt.valid && err != nil {
					t.Fatalf("valid certificate refused: %v", err)
				}
				if !tt.valid && (err == nil || calls.Load() != 0) {
					t.Fatalf("client with a bad certificate served: err %v, %d handler calls", err, calls.Load())
				}
				t.Logf("err: %v", err)
			})
		})
	}
}

func TestCheckCertificate(t *testing.T) {
	for _, tt := range badCertificates(t) {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := x509.ParseCertificate(tt.cert.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			_, err = checkCertificate([]*x509.Certificate{cert})
			if tt.valid != (err == nil) {
				t.Fatalf("checkCertificate: %v, want valid=%v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, errBadCertificate) {
				t.Errorf("err %v does not wrap errBadCertificate", err)
			}
		})
	}
	if _, err := checkCertificate(nil); !errors.Is(err, errBadCertificate) {
		t.Errorf("no certificate: %v", err)
	}
}
