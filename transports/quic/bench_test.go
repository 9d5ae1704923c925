package quic

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"

	qgo "github.com/quic-go/quic-go"

	"kad/identity"
	"kad/transports"
)

func benchPair(b *testing.B) (a, srv *Transport) {
	b.Helper()
	a = newTransport(b, Options{})
	srv = newTransport(b, Options{})
	serve(b, srv, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) { return req, nil })
	return a, srv
}

// BenchmarkRoundTrip measures one request/response of 100 bytes each way on a warm
// connection: a new stream per request.
func BenchmarkRoundTrip(b *testing.B) {
	a, srv := benchPair(b)
	to := contact(srv)
	req := make([]byte, 100)
	ctx := context.Background()
	if _, _, err := a.Call(ctx, to, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(req)))
	for b.Loop() {
		if _, _, err := a.Call(ctx, to, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTripBaseline is BenchmarkRoundTrip written directly on quic-go, with
// the same TLS settings and no connection cache, framing or checks: what the transport
// adds is the difference.
func BenchmarkRoundTripBaseline(b *testing.B) {
	config := func() *tls.Config {
		key := newKey(b)
		cert, err := newCertificate(key, identity.IDFromKey(key))
		if err != nil {
			b.Fatal(err)
		}
		srv, _ := tlsConfigs(cert, ALPN, 0)
		return srv
	}
	srvTLS, cliTLS := config(), config()
	cliTLS.ClientAuth = tls.NoClientCert
	cliTLS.InsecureSkipVerify = true
	udp := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	u1, u2 := udp(), udp()
	t1, t2 := &qgo.Transport{Conn: u1}, &qgo.Transport{Conn: u2}
	ln, err := t1.Listen(srvTLS, nil)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer t1.Close()
	defer t2.Close()
	wg.Go(func() {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		for {
			s, err := conn.AcceptStream(context.Background())
			if err != nil {
				return
			}
			wg.Go(func() {
				buf, _ := io.ReadAll(s)
				s.Write(buf)
				s.Close()
			})
		}
	})
	conn, err := t2.Dial(context.Background(), u1.LocalAddr(), cliTLS, nil)
	if err != nil {
		b.Fatal(err)
	}
	req := make([]byte, 100)
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(req)))
	for b.Loop() {
		s, err := conn.OpenStreamSync(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		s.Write(req)
		s.Close()
		if _, err := io.ReadAll(s); err != nil {
			b.Fatal(err)
		}
	}
	conn.CloseWithError(0, "")
}

// BenchmarkRoundTripParallel runs calls from GOMAXPROCS×8 goroutines over one
// connection.
func BenchmarkRoundTripParallel(b *testing.B) {
	a, srv := benchPair(b)
	to := contact(srv)
	ctx := context.Background()
	if _, _, err := a.Call(ctx, to, make([]byte, 100)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		req := make([]byte, 100)
		for pb.Next() {
			if _, _, err := a.Call(ctx, to, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHandshake measures a full QUIC + TLS 1.3 handshake with certificate checks
// on both sides, with X25519 (the transport's choice) and Go's default key exchange.
// BenchmarkHandshake measures a connection's handshake and first request: full, with
// X25519 alone or Go's default key exchanges, and resumed from a session ticket.
func BenchmarkHandshake(b *testing.B) {
	for _, kx := range []struct {
		name    string
		curves  []tls.CurveID
		resumed bool
	}{
		{"X25519", []tls.CurveID{tls.X25519}, false},
		{"default", nil, false},
		{"resumed", []tls.CurveID{tls.X25519}, true},
	} {
		b.Run(kx.name, func(b *testing.B) {
			saved := curvePreferences
			curvePreferences = kx.curves
			a, srv := benchPair(b)
			curvePreferences = saved
			addr := net.UDPAddrFromAddrPort(srv.LocalAddr())
			conf := a.clientTLSFor(srv.LocalAddr())
			if !kx.resumed {
				conf = conf.Clone()
				conf.ClientSessionCache, conf.SessionTicketsDisabled = nil, true
			}
			ctx := context.Background()
			handshake := func() bool {
				conn, err := a.qt.Dial(ctx, addr, conf, a.qconf)
				if err != nil {
					b.Fatal(err)
				}
				// A first stream makes sure the server accepted the client's certificate,
				// and lets the client receive its session ticket.
				s, err := conn.OpenStream()
				if err != nil {
					b.Fatal(err)
				}
				s.Write([]byte{'x'})
				s.Close()
				var buf [16]byte
				for {
					if _, err := s.Read(buf[:]); err != nil {
						break
					}
				}
				conn.CloseWithError(closeNormal, "")
				return conn.ConnectionState().TLS.DidResume
			}
			if kx.resumed {
				handshake() // a full one, for the first ticket
			}
			b.ReportAllocs()
			for b.Loop() {
				if handshake() != kx.resumed {
					b.Fatalf("resumed %v, want %v", !kx.resumed, kx.resumed)
				}
			}
		})
	}
}
