package quic

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/transports"
)

// TestNetworksApart: nodes of different networks fail each other's handshake, so no
// connection forms and no handler runs, either way round; the listening side counts the
// refusal and the caller gets ErrWrongNetwork.
func TestNetworksApart(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"public and named", "", "alpha"},
		{"named and public", "alpha", ""},
		{"two named", "alpha", "beta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handled atomic.Int32
			count := func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
				handled.Add(1)
				return echo(ctx, from, req)
			}
			a := newTransport(t, Options{Network: tt.a})
			b := newTransport(t, Options{Network: tt.b})
			serve(t, a, count)
			serve(t, b, count)

			calls := []struct {
				from, to *Transport
				network  string // from's
			}{{a, b, tt.a}, {b, a, tt.b}}
			for i, c := range calls {
				_, _, err := c.from.Call(testCtx(t), contact(c.to), []byte("hello"))
				if !errors.Is(err, transports.ErrWrongNetwork) {
					t.Fatalf("call %d: %v, want ErrWrongNetwork", i, err)
				}
				if want := strconv.Quote(alpnFor(c.network)); !strings.Contains(err.Error(), want) {
					t.Errorf("call %d: %q does not name the caller's ALPN %s", i, err, want)
				}
				waitFor(t, "the refusal counted", func() bool { return c.to.Stats().WrongNetwork == 1 })
			}
			if n := handled.Load(); n != 0 {
				t.Errorf("handlers ran %d times", n)
			}
			for name, tr := range map[string]*Transport{"a": a, "b": b} {
				if s := tr.Stats(); s.Dials != 0 || s.Accepts != 0 || s.Conns != 0 {
					t.Errorf("%s: %+v, want no handshake completed and no connection", name, s)
				}
			}
		})
	}
}

// TestSameNamedNetwork: two transports of one named network talk, and their handshake
// settles on that network's ALPN.
func TestSameNamedNetwork(t *testing.T) {
	a := newTransport(t, Options{Network: "alpha"})
	b := newTransport(t, Options{Network: "alpha"})
	serve(t, a, echo)
	serve(t, b, echo)
	mustCall(t, a, contact(b), "hello")
	mustCall(t, b, contact(a), "back")
	if s := b.Stats(); s.WrongNetwork != 0 || s.Accepts != 1 {
		t.Errorf("b: %+v, want one accept and no refusal", s)
	}

	conn, err := rawDial(t, b.LocalAddr(), "kad/1", "kad/1/alpha")
	if err != nil {
		t.Fatalf("dial offering both ALPNs: %v", err)
	}
	if got := conn.ConnectionState().TLS.NegotiatedProtocol; got != "kad/1/alpha" {
		t.Errorf("negotiated %q, want %q", got, "kad/1/alpha")
	}
}

// TestNoCommonALPN pins the quic-go behaviour the networks rest on: a server that shares
// no ALPN with the client fails the handshake with the TLS alert no_application_protocol,
// which the client sees as a remote CRYPTO_ERROR 0x178.
func TestNoCommonALPN(t *testing.T) {
	tr := newTransport(t, Options{Network: "alpha"})
	serve(t, tr, echo)
	tests := []struct {
		name   string
		protos []string
	}{
		{"public", []string{ALPN}},
		{"another network", []string{"kad/1/beta"}},
		{"a prefix", []string{"kad/1/alph"}},
		{"case", []string{"kad/1/Alpha"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rawDial(t, tr.LocalAddr(), tt.protos...)
			var te *qgo.TransportError
			if !errors.As(err, &te) || !te.Remote || te.ErrorCode != 0x178 {
				t.Fatalf("dial offering %q: %v, want a remote CRYPTO_ERROR 0x178 (no_application_protocol)", tt.protos, err)
			}
			if !wrongNetwork(err) {
				t.Errorf("wrongNetwork(%v) = false", err)
			}
			if got := tr.Stats().WrongNetwork; got != int64(i+1) {
				t.Errorf("WrongNetwork = %d, want %d", got, i+1)
			}
		})
	}
}

// rawDial dials addr offering protos and checking nothing of the server; the connection
// is closed when the test ends.
func rawDial(t *testing.T, addr netip.AddrPort, protos ...string) (*qgo.Conn, error) {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	qt := &qgo.Transport{Conn: udp}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := qt.Dial(ctx, net.UDPAddrFromAddrPort(addr), &tls.Config{
		Certificates:       []tls.Certificate{validCertificate(t)},
		InsecureSkipVerify: true,
		NextProtos:         protos,
		MinVersion:         tls.VersionTLS13,
	}, nil)
	t.Cleanup(func() {
		if conn != nil {
			conn.CloseWithError(0, "")
		}
		qt.Close()
		udp.Close()
	})
	return conn, err
}

func TestBadNetworkName(t *testing.T) {
	for _, name := range []string{"Alpha", "public", "a/b", string(make([]byte, 33))} {
		if tr, err := Listen("127.0.0.1:0", newKey(t), Options{Network: name}); !errors.Is(err, transports.ErrBadNetwork) {
			if tr != nil {
				tr.Close()
			}
			t.Errorf("Listen with network %q: %v, want ErrBadNetwork", name, err)
		}
	}
}

// TestALPN: the public network keeps the ALPN it always had.
func TestALPN(t *testing.T) {
	for network, want := range map[string]string{"": "kad/1", "alpha": "kad/1/alpha", "corp.example": "kad/1/corp.example"} {
		if got := alpnFor(network); got != want {
			t.Errorf("alpnFor(%q) = %q, want %q", network, got, want)
		}
	}
}
