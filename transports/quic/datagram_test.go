package quic

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/transports"
)

// sizedEcho answers "big" with 3,000 bytes, "fail" with an error, and anything else as
// echo does, counting the requests it handled.
func sizedEcho(handled *atomic.Int64) transports.Handler {
	return func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		handled.Add(1)
		switch string(req) {
		case "big":
			return bytes.Repeat([]byte{'b'}, 3000), nil
		case "fail":
			return nil, errors.New("refused")
		}
		return echo(ctx, from, req)
	}
}

func TestDatagramPaths(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	var handled atomic.Int64
	serve(t, b, sizedEcho(&handled))
	steps := []struct {
		name     string
		req      string
		respLen  int   // the response's length; 0: as echo's
		datagram bool  // answered in a datagram
		handled  int64 // times the handler ran
		remote   bool  // fails with ErrRemote
	}{
		{name: "small", req: "small", datagram: true, handled: 1},
		{name: "large request", req: string(bytes.Repeat([]byte{'r'}, 3000)), handled: 1},
		// The datagram's answer says to ask on a stream, where the handler runs again.
		{name: "large response", req: "big", respLen: 3000, handled: 2},
		{name: "remote error", req: "fail", datagram: true, handled: 1, remote: true},
	}
	for _, st := range steps {
		calls, n := a.Stats().DatagramCalls, handled.Load()
		resp, _, err := a.Call(testCtx(t), contact(b), []byte(st.req))
		switch {
		case st.remote && !errors.Is(err, transports.ErrRemote):
			t.Errorf("%s: %v, want ErrRemote", st.name, err)
		case !st.remote && err != nil:
			t.Errorf("%s: %v", st.name, err)
		case !st.remote && st.respLen == 0 && string(resp) != "re:"+st.req:
			t.Errorf("%s: response of %d bytes, want the echo", st.name, len(resp))
		case st.respLen != 0 && len(resp) != st.respLen:
			t.Errorf("%s: response of %d bytes, want %d", st.name, len(resp), st.respLen)
		}
		if got := a.Stats().DatagramCalls - calls; (got == 1) != st.datagram || got > 1 {
			t.Errorf("%s: %d calls answered in a datagram, want datagram %v", st.name, got, st.datagram)
		}
		if got := handled.Load() - n; got != st.handled {
			t.Errorf("%s: handler ran %d times, want %d", st.name, got, st.handled)
		}
	}
	if got := a.Stats().Dials; got != 1 {
		t.Errorf("%d dials, want 1: datagrams and streams share the connection", got)
	}

	// A peer with datagrams off is called on streams.
	c := newTransport(t, Options{NoDatagrams: true})
	serve(t, c, echo)
	serve(t, a, echo)
	before := a.Stats().DatagramCalls
	mustCall(t, a, contact(c), "to c")
	mustCall(t, c, contact(a), "from c")
	if got := a.Stats().DatagramCalls - before; got != 0 {
		t.Errorf("%d calls to a peer without datagrams answered in one", got)
	}
}

// lossyConn drops the next packet it is asked to send that is larger than dropOver
// bytes, once armed: the tests' requests are that large, QUIC's acknowledgments are not.
type lossyConn struct {
	net.PacketConn
	armed   atomic.Bool
	dropped atomic.Int64
}

const dropOver = 400

func (c *lossyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if len(p) > dropOver && c.armed.CompareAndSwap(true, false) {
		c.dropped.Add(1)
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

// A request datagram lost on the way is sent again: QUIC does not retransmit datagrams.
func TestDatagramResentAfterLoss(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true") // the wrapper hides the socket
	lossy := &lossyConn{PacketConn: udp}
	a, err := New(lossy, newKey(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); udp.Close() })
	b := newTransport(t, Options{})
	var handled atomic.Int64
	serve(t, b, sizedEcho(&handled))
	mustCall(t, a, contact(b), "warm") // connected, and an RTT measured

	lossy.armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := bytes.Repeat([]byte{'q'}, 2*dropOver)
	if _, _, err := a.Call(ctx, contact(b), req); err != nil {
		t.Fatalf("call after a lost request datagram: %v", err)
	}
	if got := lossy.dropped.Load(); got != 1 {
		t.Fatalf("%d packets dropped, want 1", got)
	}
	if got := a.Stats(); got.Dials != 1 || got.DatagramCalls != 2 {
		t.Errorf("%d dials and %d calls answered in datagrams, want 1 and 2: the request was sent again on the same connection",
			got.Dials, got.DatagramCalls)
	}
	if got := handled.Load(); got != 2 {
		t.Errorf("handler ran %d times, want 2 (warm, and the resent request once)", got)
	}
}

// rawDatagramConn dials addr as a QUIC peer with datagrams, presenting a valid
// certificate, and sends whatever the test writes.
func rawDatagramConn(t *testing.T, addr net.Addr) *qgo.Conn {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	qt := &qgo.Transport{Conn: udp}
	t.Cleanup(func() { qt.Close(); udp.Close() })
	conn, err := qt.Dial(testCtx(t), addr, &tls.Config{
		Certificates:       []tls.Certificate{validCertificate(t)},
		InsecureSkipVerify: true,
		NextProtos:         []string{ALPN},
		MinVersion:         tls.VersionTLS13,
	}, &qgo.Config{EnableDatagrams: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	return conn
}

// A peer that sends malformed datagrams, responses nobody asked for, and copies of a
// request still being answered gets nothing for them; its next request is answered.
func TestHostileDatagrams(t *testing.T) {
	b := newTransport(t, Options{})
	release := make(chan struct{})
	var handled atomic.Int64
	var once sync.Once
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		handled.Add(1)
		if string(req) == "slow" {
			<-release
		}
		return echo(ctx, from, req)
	})
	conn := rawDatagramConn(t, net.UDPAddrFromAddrPort(b.LocalAddr()))
	send := func(p []byte) {
		t.Helper()
		if err := conn.SendDatagram(p); err != nil {
			t.Fatal(err)
		}
	}
	send([]byte{})                                   // empty
	send([]byte{dgRequest, 0, 0})                    // shorter than the header
	send(dgPayload(0x7f, 1, []byte("x")))            // unknown kind
	send(dgPayload(dgOK, 12345, []byte("forged")))   // a response no call waits for
	send(dgPayload(dgUseStream, 12346, []byte("x"))) // a body where none belongs
	send(dgPayload(dgRequest, 7, []byte("slow")))
	send(dgPayload(dgRequest, 7, []byte("slow"))) // a copy, while the first is answered
	waitFor(t, "the bad datagrams to be dropped", func() bool { return b.Stats().DatagramsDropped >= 6 })
	once.Do(func() { close(release) })

	send(dgPayload(dgRequest, 8, []byte("ping")))
	got := map[uint32]string{}
	for len(got) < 2 {
		p, err := conn.ReceiveDatagram(testCtx(t))
		if err != nil {
			t.Fatalf("no response: %v (got %v)", err, got)
		}
		if len(p) < dgHeader || p[0] != dgOK {
			t.Fatalf("response %q, want an OK datagram", p)
		}
		got[binary.BigEndian.Uint32(p[1:dgHeader])] = string(p[dgHeader:])
	}
	if got[7] != "re:slow" || got[8] != "re:ping" {
		t.Errorf("responses %v, want 7: re:slow, 8: re:ping", got)
	}
	if n := handled.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2: the copy of request 7 was dropped", n)
	}
	if got := b.Stats().DatagramsDropped; got != 6 {
		t.Errorf("%d datagrams dropped, want 6", got)
	}
	if conn.Context().Err() != nil {
		t.Errorf("connection closed: %v", context.Cause(conn.Context()))
	}
}
