package quic

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/identity"
)

// flooder dials from one UDP socket on 127.0.0.1, under a fresh key each time.
type flooder struct {
	t  *testing.T
	qt *qgo.Transport

	mu    sync.Mutex
	conns []*qgo.Conn
}

func newFlooder(t *testing.T) *flooder {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	qt := &qgo.Transport{Conn: udp}
	f := &flooder{t: t, qt: qt}
	t.Cleanup(func() { f.closeAll(); qt.Close(); udp.Close() })
	return f
}

// dial makes one connection to addr under a fresh key; it is closed at cleanup.
func (f *flooder) dial(addr netip.AddrPort) (*qgo.Conn, error) {
	f.t.Helper()
	key := newKey(f.t)
	cert, err := newCertificate(key, identity.IDFromKey(key))
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := f.qt.Dial(ctx, net.UDPAddrFromAddrPort(addr), &tls.Config{
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true,
		NextProtos:         []string{ALPN},
		MinVersion:         tls.VersionTLS13,
	}, &qgo.Config{HandshakeIdleTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.conns = append(f.conns, conn)
	f.mu.Unlock()
	return conn, nil
}

// closeAll closes the connections dialed so far, telling the server.
func (f *flooder) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.CloseWithError(0, "")
	}
	f.conns = nil
}

// flood makes n connections to addr from callers goroutines and counts those that
// formed and those refused with CONNECTION_REFUSED; any other failure fails the test.
func (f *flooder) flood(addr netip.AddrPort, n, callers int) (ok, refused int) {
	f.t.Helper()
	var next, okN, refusedN atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				_, err := f.dial(addr)
				var te *qgo.TransportError
				switch {
				case err == nil:
					okN.Add(1)
				case errors.As(err, &te) && te.Remote && te.ErrorCode == qgo.ConnectionRefused:
					refusedN.Add(1)
				default:
					f.t.Errorf("dial %s: %v", addr, err)
				}
			}
		})
	}
	wg.Wait()
	return int(okN.Load()), int(refusedN.Load())
}

func refusedAtSource(s Stats) int64 {
	return s.RefusedConnsPerIP + s.RefusedConnsPerSubnet + s.RefusedHandshakesPerIP + s.RefusedHandshakesPerSubnet
}

// TestFloodFromOneAddressBounded: one address opening many connections under fresh keys
// gets at most MaxConnsPerIP of them, the rest are refused and counted, and an honest
// peer with its own key and address still calls through the flood.
func TestFloodFromOneAddressBounded(t *testing.T) {
	const n, perIP = 64, 8
	srv := newTransport(t, Options{RetryAbove: -1})
	serve(t, srv, echo)
	honest := newTransport(t, Options{})
	serve(t, honest, echo)

	ok, refused := newFlooder(t).flood(srv.LocalAddr(), n, 16)
	t.Logf("%d connections from one address: %d formed, %d refused; %+v", n, ok, refused, srv.Stats())
	if ok > perIP || ok == 0 || ok+refused != n {
		t.Errorf("%d formed and %d refused, want 1 to %d formed and the rest refused", ok, refused, perIP)
	}
	// A refused Initial that the client sent twice is refused twice.
	if got := refusedAtSource(srv.Stats()); got < int64(refused) {
		t.Errorf("server counted %d refusals, the flood saw %d", got, refused)
	}
	mustCall(t, honest, contact(srv), "through the flood")
	mustCall(t, srv, contact(honest), "and back")
	if got := srv.Stats().Conns; got > perIP+1 {
		t.Errorf("server holds %d connections, want at most %d", got, perIP+1)
	}
}

// TestSourceLimits: exempt addresses count per IP and port unless SubnetLimitsEverywhere,
// which counts them per IP and per /24; connections that end give their slots back.
func TestSourceLimits(t *testing.T) {
	const sockets, each = 3, 3
	for _, tc := range []struct {
		name       string
		opts       Options
		wantOK     int
		wantReason func(Stats) int64
	}{
		{"per address", Options{MaxConnsPerIP: 2}, sockets * 2, func(s Stats) int64 { return s.RefusedConnsPerIP }},
		{"per IP", Options{MaxConnsPerIP: 2, SubnetLimitsEverywhere: true}, 2, func(s Stats) int64 { return s.RefusedConnsPerIP }},
		{"per subnet", Options{MaxConnsPerSubnet: 3, SubnetLimitsEverywhere: true}, 3, func(s Stats) int64 { return s.RefusedConnsPerSubnet }},
		{"no limits", Options{MaxConnsPerIP: -1, MaxConnsPerSubnet: -1, SubnetLimitsEverywhere: true}, sockets * each, refusedAtSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.RetryAbove = -1
			srv := newTransport(t, tc.opts)
			serve(t, srv, echo)
			ok := 0
			var flooders []*flooder
			for range sockets {
				f := newFlooder(t)
				flooders = append(flooders, f)
				o, _ := f.flood(srv.LocalAddr(), each, 1)
				ok += o
			}
			refused := tc.wantReason(srv.Stats())
			if ok != tc.wantOK || refused < int64(sockets*each-ok) {
				t.Errorf("%d formed, %d refused for the reason; want %d formed, the rest refused (%+v)", ok, refused, tc.wantOK, srv.Stats())
			}
			// Closing the connections frees the slots: the sources hold nothing.
			for _, f := range flooders {
				f.closeAll()
			}
			waitFor(t, "slots given back", func() bool { return srv.limits.sources() == 0 })
			if o, _ := newFlooder(t).flood(srv.LocalAddr(), 1, 1); o != 1 {
				t.Error("a new connection after the flood ended was refused")
			}
		})
	}
}

// TestRetryUnderHandshakeRate: once new handshakes arrive faster than RetryAbove a
// second, clients are asked to validate their address with a Retry, and still connect.
func TestRetryUnderHandshakeRate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		above int
		retry bool
	}{
		{"over the rate", 5, true},
		{"never", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTransport(t, Options{RetryAbove: tc.above, MaxConnsPerIP: -1, MaxHandshakesPerIP: -1})
			f := newFlooder(t)
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; i < 50 && time.Now().Before(deadline) && (srv.Stats().Retries == 0 || !tc.retry); i++ {
				conn, err := f.dial(srv.LocalAddr())
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				conn.CloseWithError(0, "")
			}
			if got := srv.Stats().Retries > 0; got != tc.retry {
				t.Errorf("Retries %d, want some: %v", srv.Stats().Retries, tc.retry)
			}
			if tc.retry {
				// A client asked for a Retry connects after it.
				if _, err := f.dial(srv.LocalAddr()); err != nil {
					t.Fatalf("dial after Retry: %v", err)
				}
			}
		})
	}
}

// TestUnprovenHandshakesCannotLockOut: handshakes from an address not yet proven (it
// may be forged) take at most MaxHandshakesPerIP places; then unproven attempts are
// asked for a Retry, and attempts that proved the address still get in.
func TestUnprovenHandshakesCannotLockOut(t *testing.T) {
	l := newSourceLimits(Options{}.withDefaults())
	from := net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:5000"))
	attempt := func(proven bool) error {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		_, err := l.connContext(ctx, &qgo.ClientInfo{RemoteAddr: from, AddrVerified: proven})
		return err
	}
	for i := range defaultMaxHandshakesPerIP {
		if l.full(from) {
			t.Fatalf("Retry asked after %d unproven handshakes", i)
		}
		if err := attempt(false); err != nil {
			t.Fatalf("unproven handshake %d: %v", i, err)
		}
	}
	if !l.full(from) {
		t.Error("no Retry asked of an unproven attempt from an address at its limit")
	}
	if err := attempt(false); !errors.Is(err, errSourceLimit) {
		t.Errorf("unproven attempt over the limit: %v, want %v", err, errSourceLimit)
	}
	for i := range defaultMaxHandshakesPerIP {
		if err := attempt(true); err != nil {
			t.Fatalf("proven handshake %d: %v", i, err)
		}
	}
	// 4 proven and 4 unproven make MaxConnsPerIP.
	if err := attempt(true); !errors.Is(err, errSourceLimit) {
		t.Errorf("proven attempt over the connection limit: %v, want %v", err, errSourceLimit)
	}
	if h, c := l.refusedHandshakesIP.Load(), l.refusedConnsIP.Load(); h != 1 || c != 1 {
		t.Errorf("%d refusals over the handshake limit and %d over the connection limit, want 1 and 1", h, c)
	}
}
