package quic

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/protocol"
	"kad/transports"
)

// selfSigned makes a certificate for pub signed by signer, named cn.
func selfSigned(t *testing.T, pub, signer any, cn string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// badCertificates are certificates a node must refuse, plus a valid one as a control.
func badCertificates(t *testing.T) []struct {
	name  string
	cert  tls.Certificate
	valid bool
} {
	t.Helper()
	key := newKey(t)
	good, err := newCertificate(key, protocol.IDFromPublicKey(key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := newKey(t)
	id := protocol.IDFromPublicKey(key.Public().(ed25519.PublicKey)).String()
	return []struct {
		name  string
		cert  tls.Certificate
		valid bool
	}{
		{"valid", good, true},
		{"ecdsa key", tls.Certificate{Certificate: [][]byte{selfSigned(t, ec.Public(), ec, id)}, PrivateKey: ec}, false},
		{"signed by another key", tls.Certificate{Certificate: [][]byte{selfSigned(t, key.Public(), other, id)}, PrivateKey: key}, false},
		{"common name not an id", tls.Certificate{Certificate: [][]byte{selfSigned(t, key.Public(), key, "node-1")}, PrivateKey: key}, false},
	}
}

// rawServer runs a QUIC server that presents cert and answers every stream with an OK
// frame, without checking anything: only the dialing side can refuse it.
func rawServer(t *testing.T, cert tls.Certificate) netip.AddrPort {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	qt := &qgo.Transport{Conn: udp}
	ln, err := qt.Listen(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		NextProtos:   []string{ALPN},
		MinVersion:   tls.VersionTLS13,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			wg.Go(func() {
				for {
					s, err := conn.AcceptStream(ctx)
					if err != nil {
						return
					}
					io.Copy(io.Discard, s)
					s.Write([]byte{statusOK, 'o', 'k'})
					s.Close()
				}
			})
		}
	})
	t.Cleanup(func() {
		cancel()
		qt.Close()
		wg.Wait()
		udp.Close()
	})
	return udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// rawCall dials addr presenting cert, checking nothing of the server, and makes one
// request.
func rawCall(t *testing.T, cert tls.Certificate, addr netip.AddrPort) error {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	qt := &qgo.Transport{Conn: udp}
	defer qt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := qt.Dial(ctx, net.UDPAddrFromAddrPort(addr), &tls.Config{
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true,
		NextProtos:         []string{ALPN},
		MinVersion:         tls.VersionTLS13,
	}, nil)
	if err != nil {
		return err
	}
	defer conn.CloseWithError(0, "")
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	s.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write([]byte("x")); err != nil {
		return err
	}
	s.Close()
	resp, err := io.ReadAll(s)
	if err != nil {
		return err
	}
	if len(resp) == 0 || resp[0] != statusOK {
		return errors.New("no OK response")
	}
	return nil
}

func TestRefusesBadCertificates(t *testing.T) {
	for _, tt := range badCertificates(t) {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("as server", func(t *testing.T) {
				a := newTransport(t, Options{})
				_, _, err := a.Call(testCtx(t), protocol.Contact{Addr: rawServer(t, tt.cert)}, []byte("x"))
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
