package quic

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kad/identity"
	"kad/protocol"
	"kad/transports"
)

func TestRoundTripVerifiedBothWays(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	var fromB, fromA atomic.Pointer[transports.Peer]
	serve(t, a, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		fromB.Store(&from)
		return echo(ctx, from, req)
	})
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		fromA.Store(&from)
		return echo(ctx, from, req)
	})

	peer := mustCall(t, a, contact(b), "hello")
	want := transports.Peer{Addr: b.LocalAddr(), ID: b.LocalID(), Verified: true}
	if peer != want {
		t.Errorf("a→b: Call's peer %+v, want %+v", peer, want)
	}
	if got, want := *fromA.Load(), (transports.Peer{Addr: a.LocalAddr(), ID: a.LocalID(), Verified: true}); got != want {
		t.Errorf("a→b: handler's peer %+v, want %+v", got, want)
	}

	// b calls back with no ID known: the transport still proves a's.
	peer = mustCall(t, b, protocol.Contact{Addr: a.LocalAddr()}, "back")
	if want := (transports.Peer{Addr: a.LocalAddr(), ID: a.LocalID(), Verified: true}); peer != want {
		t.Errorf("b→a: Call's peer %+v, want %+v", peer, want)
	}
	if got, want := *fromB.Load(), (transports.Peer{Addr: b.LocalAddr(), ID: b.LocalID(), Verified: true}); got != want {
		t.Errorf("b→a: handler's peer %+v, want %+v", got, want)
	}
	// b answered on the connection a dialed.
	if got := b.Stats().Dials; got != 0 {
		t.Errorf("b dialed %d times, want 0 (reuse of a's connection)", got)
	}
}

func TestLocalID(t *testing.T) {
	key := newKey(t)
	tr := newTransportKey(t, key, Options{ClaimedID: protocol.KeyFromString("chosen")})
	want := identity.IDFromKey(key)
	if got := tr.LocalID(); got != want {
		t.Errorf("LocalID %s, want %s", got, want)
	}
}

func TestIDMismatch(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	var calls atomic.Int32
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		calls.Add(1)
		return nil, nil
	})
	wrong := protocol.KeyFromString("someone else")
	_, _, err := a.Call(testCtx(t), protocol.Contact{ID: wrong, Addr: b.LocalAddr()}, []byte("x"))
	if !errors.Is(err, transports.ErrIDMismatch) {
		t.Fatalf("err %v, want ErrIDMismatch", err)
	}
	if want := fmt.Sprintf("got %s, want %s", b.LocalID(), wrong); !strings.Contains(err.Error(), want) {
		t.Errorf("err %q does not say %q", err, want)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("handler ran %d times, want 0", n)
	}
}

func TestClaimedID(t *testing.T) {
	claimedB := protocol.KeyFromString("b's chosen id")
	claimedA := protocol.KeyFromString("a's chosen id")
	a := newTransport(t, Options{ClaimedID: claimedA})
	b := newTransport(t, Options{ClaimedID: claimedB})
	var from atomic.Pointer[transports.Peer]
	serve(t, b, func(ctx context.Context, p transports.Peer, req []byte) ([]byte, error) {
		from.Store(&p)
		return echo(ctx, p, req)
	})

	tests := []struct {
		name string
		to   protocol.ID
		want transports.Peer
		err  error
	}{
		{"no id", protocol.ID{}, transports.Peer{Addr: b.LocalAddr(), ID: claimedB}, nil},
		{"claimed id", claimedB, transports.Peer{Addr: b.LocalAddr(), ID: claimedB}, nil},
		{"derived id", b.LocalID(), transports.Peer{Addr: b.LocalAddr(), ID: b.LocalID(), Verified: true}, nil},
		{"other id", protocol.KeyFromString("x"), transports.Peer{}, transports.ErrIDMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, peer, err := a.Call(testCtx(t), protocol.Contact{ID: tt.to, Addr: b.LocalAddr()}, []byte("x"))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				if !strings.Contains(err.Error(), "unverified") {
					t.Errorf("err %q does not say the peer's ID is unverified", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if peer != tt.want {
				t.Errorf("peer %+v, want %+v", peer, tt.want)
			}
			if got, want := *from.Load(), (transports.Peer{Addr: a.LocalAddr(), ID: claimedA}); got != want {
				t.Errorf("handler's peer %+v, want %+v", got, want)
			}
		})
	}
}

func TestRemoteError(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		return nil, errors.New(string(req))
	})
	tests := []struct {
		name, text, want string
	}{
		{"short", "no such key", "no such key"},
		{"long", strings.Repeat("é", 200), strings.Repeat("é", protocol.MaxErrorText/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := a.Call(testCtx(t), contact(b), []byte(tt.text))
			if !errors.Is(err, transports.ErrRemote) {
				t.Fatalf("err %v, want ErrRemote", err)
			}
			if !strings.HasSuffix(err.Error(), ": "+tt.want) {
				t.Errorf("err %q does not end with %q", err, tt.want)
			}
		})
	}
}

func TestMessageSizes(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		if string(req) == "big" {
			return make([]byte, protocol.MaxMessageSize+1), nil
		}
		return req, nil
	})

	_, _, err := a.Call(testCtx(t), contact(b), make([]byte, protocol.MaxMessageSize+1))
	if !errors.Is(err, protocol.ErrTooLarge) {
		t.Errorf("over-limit request: err %v, want ErrTooLarge", err)
	}
	if n := a.Stats().Dials; n != 0 {
		t.Errorf("over-limit request dialed %d times, want 0", n)
	}

	req := make([]byte, protocol.MaxMessageSize)
	req[len(req)-1] = 7
	resp, _, err := a.Call(testCtx(t), contact(b), req)
	if err != nil {
		t.Fatalf("request of MaxMessageSize: %v", err)
	}
	if len(resp) != len(req) || resp[len(resp)-1] != 7 {
		t.Errorf("response of %d bytes, want the %d sent", len(resp), len(req))
	}

	resp, _, err = a.Call(testCtx(t), contact(b), nil)
	if err != nil || len(resp) != 0 {
		t.Errorf("empty request: response %q, err %v; want empty, nil", resp, err)
	}

	_, _, err = a.Call(testCtx(t), contact(b), []byte("big"))
	if !errors.Is(err, transports.ErrRemote) || !strings.Contains(err.Error(), protocol.ErrTooLarge.Error()) {
		t.Errorf("over-limit response: err %v, want ErrRemote saying %q", err, protocol.ErrTooLarge)
	}
}

// TestBadAddress calls addresses no node can be reached at (protocol.CheckAddr), multicast
// among them: each call fails with protocol.ErrBadAddr, and no packet leaves the socket.
func TestBadAddress(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn := &countingConn{UDPConn: udp}
	a, err := New(conn, newKey(t), Options{})
	if err != nil {
		udp.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		udp.Close()
	})
	for _, addr := range []string{"", "0.0.0.0:4000", "[::]:4000", "127.0.0.1:0",
		"224.0.0.1:4000", "239.255.255.250:1900", "[ff02::1]:4000", "[::ffff:224.0.0.1]:4000"} {
		var c protocol.Contact
		if addr != "" {
			c.Addr = mustAddrPort(t, addr)
		}
		if _, _, err := a.Call(testCtx(t), c, []byte("x")); !errors.Is(err, protocol.ErrBadAddr) {
			t.Errorf("call %q: err %v, want ErrBadAddr", addr, err)
		}
	}
	if n := conn.writes.Load(); n != 0 {
		t.Errorf("%d packets sent, want none", n)
	}
	if d := a.Stats().Dials; d != 0 {
		t.Errorf("%d dials, want none", d)
	}
}

// countingConn counts the packets written through it. It hides the methods of
// *net.UDPConn that quic-go would write with instead of WriteTo, but not the buffer
// settings, whose absence quic-go warns about.
type countingConn struct {
	*net.UDPConn
	writes atomic.Int64
}

func (c *countingConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.writes.Add(1)
	return c.UDPConn.WriteTo(p, addr)
}

// WriteMsgUDP hides (*net.UDPConn).WriteMsgUDP, so quic-go writes through WriteTo.
func (c *countingConn) WriteMsgUDP() {}

func TestConnectionReuse(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	serve(t, a, echo)
	serve(t, b, echo)
	for i := range 10 {
		mustCall(t, a, contact(b), fmt.Sprint(i))
		mustCall(t, b, contact(a), fmt.Sprint(i))
	}
	if got := a.Stats(); got.Dials != 1 || got.Conns != 1 {
		t.Errorf("a: %+v, want 1 dial and 1 connection", got)
	}
	if got := b.Stats(); got.Dials != 0 || got.Accepts != 1 {
		t.Errorf("b: %+v, want 0 dials and 1 accept", got)
	}
}

func TestConcurrentFirstCallsShareHandshake(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	serve(t, b, echo)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := a.Call(testCtx(t), contact(b), []byte(fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := a.Stats().Dials; got != 1 {
		t.Errorf("%d handshakes, want 1", got)
	}
}

func TestIdleTimeoutRedials(t *testing.T) {
	opts := Options{IdleTimeout: 200 * time.Millisecond}
	a := newTransport(t, opts)
	b := newTransport(t, opts)
	serve(t, b, echo)
	mustCall(t, a, contact(b), "1")
	waitFor(t, "idle connections to close", func() bool {
		return a.Stats().Conns == 0 && b.Stats().Conns == 0
	})
	mustCall(t, a, contact(b), "2")
	if got := a.Stats().Dials; got != 2 {
		t.Errorf("%d handshakes, want 2", got)
	}
}

func TestMaxConnsEvictsLeastRecentlyUsed(t *testing.T) {
	a := newTransport(t, Options{MaxConns: 2})
	var peers []*Transport
	for range 3 {
		p := newTransport(t, Options{})
		serve(t, p, echo)
		peers = append(peers, p)
	}
	mustCall(t, a, contact(peers[0]), "0")
	mustCall(t, a, contact(peers[1]), "1")
	mustCall(t, a, contact(peers[0]), "0 again") // peers[1] is now the least recently used
	mustCall(t, a, contact(peers[2]), "2")
	if got := a.Stats(); got.Conns != 2 || got.Dials != 3 {
		t.Fatalf("%+v, want 2 connections after 3 dials", got)
	}
	waitFor(t, "the evicted peer to see its connection close", func() bool { return peers[1].Stats().Conns == 0 })
	mustCall(t, a, contact(peers[0]), "kept")
	if got := a.Stats().Dials; got != 3 {
		t.Errorf("calling a kept peer: %d dials, want 3", got)
	}
	mustCall(t, a, contact(peers[1]), "evicted")
	if got := a.Stats().Dials; got != 4 {
		t.Errorf("calling the evicted peer: %d dials, want 4", got)
	}
}

func TestPeerRestartRedialsOnce(t *testing.T) {
	tests := []struct {
		name  string
		crash bool // stop without telling peers (no CONNECTION_CLOSE)
	}{
		{"close", false},
		{"crash", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTransport(t, Options{})
			key := newKey(t)
			b, err := Listen("127.0.0.1:0", key, Options{})
			if err != nil {
				t.Fatal(err)
			}
			serve(t, b, echo)
			addr := b.LocalAddr()
			mustCall(t, a, contact(b), "before")
			if tt.crash {
				b.qt.Close() // drops every connection silently
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}

			b2 := newRestarted(t, key, addr.String())
			serve(t, b2, echo)
			mustCall(t, a, contact(b2), "after")
			if got := a.Stats().Dials; got != 2 {
				t.Errorf("%d handshakes, want 2", got)
			}
		})
	}
}

// newRestarted listens on addr again, retrying while the port is still taken.
func newRestarted(t *testing.T, key []byte, addr string) *Transport {
	t.Helper()
	var tr *Transport
	waitFor(t, "the port to be free", func() bool {
		var err error
		tr, err = Listen(addr, key, Options{})
		return err == nil
	})
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestCallContext(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	handlerDone := make(chan error, 10)
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		<-ctx.Done()
		handlerDone <- ctx.Err()
		return nil, ctx.Err()
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, _, err := a.Call(ctx, contact(b), []byte("x"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want DeadlineExceeded", err)
		}
		if err := <-handlerDone; err == nil {
			t.Error("handler's context not canceled")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, _, err := a.Call(ctx, contact(b), []byte("x"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want Canceled", err)
		}
		if err := <-handlerDone; err == nil {
			t.Error("handler's context not canceled")
		}
	})
	t.Run("dial deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, _, err := a.Call(ctx, protocol.Contact{Addr: freeAddr(t)}, []byte("x"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want DeadlineExceeded", err)
		}
	})
}

func TestUnreachable(t *testing.T) {
	a := newTransport(t, Options{HandshakeTimeout: 100 * time.Millisecond})
	_, _, err := a.Call(testCtx(t), protocol.Contact{Addr: freeAddr(t)}, []byte("x"))
	if !errors.Is(err, transports.ErrUnreachable) {
		t.Fatalf("err %v, want ErrUnreachable", err)
	}
}

func TestNotServing(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	_, _, err := a.Call(testCtx(t), contact(b), []byte("x"))
	if !errors.Is(err, transports.ErrUnreachable) {
		t.Fatalf("err %v, want ErrUnreachable", err)
	}
	serve(t, b, echo)
	mustCall(t, a, contact(b), "now")
	if err := b.Serve(echo); err == nil {
		t.Error("second Serve succeeded")
	}
}

func TestClose(t *testing.T) {
	a, err := Listen("127.0.0.1:0", newKey(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := newTransport(t, Options{})
	started := make(chan struct{})
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, nil
	})
	errc := make(chan error, 1)
	go func() {
		_, _, err := a.Call(context.Background(), contact(b), []byte("x"))
		errc <- err
	}()
	<-started
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{<-errc, callErr(a, b)} {
		if !errors.Is(err, transports.ErrClosed) || !errors.Is(err, net.ErrClosed) {
			t.Errorf("err %v, want ErrClosed", err)
		}
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := a.Serve(echo); !errors.Is(err, transports.ErrClosed) {
		t.Errorf("Serve after Close: %v, want ErrClosed", err)
	}
}

func callErr(from, to *Transport) error {
	_, _, err := from.Call(context.Background(), contact(to), []byte("x"))
	return err
}

func TestGarbageDatagrams(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	serve(t, b, echo)
	mustCall(t, a, contact(b), "before")

	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(b.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		n := 1 + rng.IntN(1400)
		if i%3 == 0 {
			n = 1200 + rng.IntN(200) // big enough to pass for an Initial
		}
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		switch i % 4 {
		case 0: // long header, QUIC v1, Initial
			p[0] = 0xc0 | p[0]&0x0f
			copy(p[1:], []byte{0, 0, 0, 1})
		case 1: // short header
			p[0] = 0x40 | p[0]&0x3f
		}
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	mustCall(t, a, contact(b), "after")
	c2 := newTransport(t, Options{})
	mustCall(t, c2, contact(b), "new peer")
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
