package udp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"kad/protocol"
	"kad/transports"
	"kad/transports/transporttest"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// listen opens a transport on 127.0.0.1, serving h when it is not nil.
func listen(t *testing.T, opts Options, h transports.Handler) *Transport {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	tr, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	if h != nil {
		if err := tr.Serve(h); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func TestConformance(t *testing.T) {
	for _, network := range []string{"", "alpha"} {
		t.Run("network "+strconv.Quote(network), func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T) transports.Transport {
				return listen(t, Options{Network: network}, nil)
			})
		})
	}
}

func echo(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) { return req, nil }

// raw is a bare UDP socket that speaks the framing by hand.
type raw struct {
	t    *testing.T
	conn *net.UDPConn
}

func newRaw(t *testing.T) *raw {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &raw{t, conn}
}

func (r *raw) addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (r *raw) send(to netip.AddrPort, datagram []byte) {
	r.t.Helper()
	if _, err := r.conn.WriteToUDPAddrPort(datagram, to); err != nil {
		r.t.Fatal(err)
	}
}

// recv reads one datagram, failing the test if none comes within a few seconds.
func (r *raw) recv() (kind byte, tag uint64, payload []byte, from netip.AddrPort) {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1<<16)
	n, from, err := r.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		r.t.Fatal(err)
	}
	h, payload, ok := parseHeader(buf[:n])
	if !ok || h.named {
		r.t.Fatalf("received a datagram not framed for the public network: %x", buf[:n])
	}
	return h.kind, h.tag, payload, from
}

// frame frames a datagram of the public network.
func frame(kind byte, tag uint64, payload string) []byte {
	return framingFor("").frame(kind, tag, payload)
}

// frame frames a datagram of f's network.
func (f framing) frame(kind byte, tag uint64, payload string) []byte {
	b := make([]byte, f.len()+len(payload))
	f.put(b, kind, tag)
	copy(b[f.len():], payload)
	return b
}

// waitFor polls cond until it holds, failing the test after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type callResult struct {
	resp []byte
	err  error
}

func goCall(t *testing.T, tr *Transport, to netip.AddrPort, req string) <-chan callResult {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	ch := make(chan callResult, 1)
	go func() {
		defer cancel()
		resp, _, err := tr.Call(ctx, protocol.Contact{Addr: to}, []byte(req))
		ch <- callResult{resp, err}
	}()
	return ch
}

func TestReplyFromWrongAddressDropped(t *testing.T) {
	a := listen(t, Options{}, nil)
	server, forger := newRaw(t), newRaw(t)

	ch := goCall(t, a, server.addr(), "question")
	kind, tag, payload, from := server.recv()
	if kind != kindRequest || string(payload) != "question" || from != a.LocalAddr() {
		t.Fatalf("server got kind %d, %q from %v; want a request %q from %v", kind, payload, from, "question", a.LocalAddr())
	}

	forger.send(a.LocalAddr(), frame(kindResponse, tag, "forged"))
	forger.send(a.LocalAddr(), frame(kindError, tag, "forged"))
	server.send(a.LocalAddr(), frame(kindResponse, tag+1, "wrong tag"))
	waitFor(t, "three unmatched responses", func() bool { return a.Stats().Unmatched == 3 })

	server.send(a.LocalAddr(), frame(kindResponse, tag, "genuine"))
	r := <-ch
	if r.err != nil || string(r.resp) != "genuine" {
		t.Errorf("Call: %q, %v; want %q, nil", r.resp, r.err, "genuine")
	}
	// A duplicate of the answer finds nobody waiting.
	server.send(a.LocalAddr(), frame(kindResponse, tag, "genuine"))
	waitFor(t, "the duplicate to be dropped", func() bool { return a.Stats().Unmatched == 4 })
}

func TestMalformedDatagramsIgnored(t *testing.T) {
	b := listen(t, Options{}, echo)
	r := newRaw(t)

	tooLong := frame(kindRequest, 1, strings.Repeat("x", protocol.MaxMessageSize+1))
	malformed := []struct {
		name     string
		datagram []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{versionPublic<<4 | kindRequest}},
		{"header cut short", frame(kindRequest, 7, "")[:headerLen-1]},
		{"named header cut short", append([]byte{versionNamed<<4 | kindRequest}, make([]byte, 11)...)},
		{"version 0", append([]byte{kindRequest}, make([]byte, 8)...)},
		{"version 3", append([]byte{3<<4 | kindRequest}, make([]byte, 12)...)},
		{"version 15", append([]byte{15<<4 | kindRequest}, make([]byte, 12)...)},
		{"kind 0", append([]byte{versionPublic << 4}, make([]byte, 12)...)},
		{"kind 4", append([]byte{versionPublic<<4 | 4}, make([]byte, 12)...)},
		{"kind 15", append([]byte{versionPublic<<4 | 15}, make([]byte, 12)...)},
		{"named kind 0", append([]byte{versionNamed << 4}, make([]byte, 12)...)},
		{"too long", tooLong},
		{"named too long", framingFor("alpha").frame(kindRequest, 1, strings.Repeat("x", protocol.MaxMessageSize+1))},
		{"text", []byte("GET / HTTP/1.1\r\n\r\n")},
	}
	for _, m := range malformed {
		r.send(b.LocalAddr(), m.datagram)
	}
	// Responses nobody asked for are not malformed, just unmatched.
	r.send(b.LocalAddr(), frame(kindResponse, 99, "unasked"))
	r.send(b.LocalAddr(), frame(kindError, 99, "unasked"))
	// Datagrams from one socket arrive in order on loopback, so the first reply is the
	// answer to this request: none of the above got one.
	r.send(b.LocalAddr(), frame(kindRequest, 42, "valid"))
	kind, tag, payload, _ := r.recv()
	if kind != kindResponse || tag != 42 || string(payload) != "valid" {
		t.Errorf("first reply: kind %d, tag %d, %q; want the response to request 42", kind, tag, payload)
	}
	waitFor(t, "the counters", func() bool {
		s := b.Stats()
		return s.Malformed == uint64(len(malformed)) && s.Unmatched == 2 && s.WrongNetwork == 0
	})

	a := listen(t, Options{}, nil)
	resp, _, err := a.Call(t.Context(), protocol.Contact{Addr: b.LocalAddr()}, []byte("still there"))
	if err != nil || string(resp) != "still there" {
		t.Errorf("Call after the garbage: %q, %v", resp, err)
	}
}

func TestWorkerPoolBound(t *testing.T) {
	const workers, queue, extra = 2, 3, 18
	var running, most atomic.Int32
	release := make(chan struct{})
	b := listen(t, Options{Workers: workers, QueueLen: queue}, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		return req, nil
	})
	r := newRaw(t)
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	for i := range workers {
		r.send(b.LocalAddr(), frame(kindRequest, uint64(i), "x"))
	}
	waitFor(t, "every worker to be busy", func() bool { return running.Load() == workers })
	for i := range extra {
		r.send(b.LocalAddr(), frame(kindRequest, uint64(workers+i), "x"))
	}
	waitFor(t, "the overflow to be dropped", func() bool { return b.Stats().Dropped == extra-queue })

	close(release)
	released = true
	for range workers + queue {
		if kind, _, _, _ := r.recv(); kind != kindResponse {
			t.Errorf("reply of kind %d, want a response", kind)
		}
	}
	if m := most.Load(); m != workers {
		t.Errorf("%d handlers ran at once, want at most %d", m, workers)
	}
	if d := b.Stats().Dropped; d != extra-queue {
		t.Errorf("%d requests dropped, want %d", d, extra-queue)
	}
}

func TestErrorTextTruncated(t *testing.T) {
	text := "x" + strings.Repeat("é", 500) // a 2-byte rune straddles byte 256
	b := listen(t, Options{}, func(context.Context, transports.Peer, []byte) ([]byte, error) {
		return nil, &textError{text}
	})
	r := newRaw(t)
	r.send(b.LocalAddr(), frame(kindRequest, 5, "q"))
	kind, tag, payload, _ := r.recv()
	if kind != kindError || tag != 5 {
		t.Fatalf("reply kind %d tag %d, want an error response to tag 5", kind, tag)
	}
	if len(payload) != protocol.MaxErrorText-1 || !utf8.Valid(payload) || !strings.HasPrefix(text, string(payload)) {
		t.Errorf("error text of %d bytes (valid UTF-8 %v), want the first %d bytes of the handler's", len(payload), utf8.Valid(payload), protocol.MaxErrorText-1)
	}
}

// TestReceivedErrorTextCut has a responder send error texts no kad node sends: the
// caller's error carries them as valid UTF-8 within protocol.MaxErrorText.
func TestReceivedErrorTextCut(t *testing.T) {
	a := listen(t, Options{}, nil)
	server := newRaw(t)
	tests := []struct {
		name, text, want string
	}{
		{"short", "refused", "refused"},
		{"invalid UTF-8", "bad \xff text", "bad \uFFFD text"},
		{"over the limit", strings.Repeat("x", 1000), strings.Repeat("x", protocol.MaxErrorText)},
		{"rune across the limit", "x" + strings.Repeat("é", 500), "x" + strings.Repeat("é", protocol.MaxErrorText/2-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := goCall(t, a, server.addr(), "question")
			_, tag, _, _ := server.recv()
			server.send(a.LocalAddr(), frame(kindError, tag, tt.text))
			r := <-ch
			if !errors.Is(r.err, transports.ErrRemote) || !strings.HasSuffix(r.err.Error(), ": "+tt.want) {
				t.Errorf("Call: %v; want ErrRemote ending %q", r.err, tt.want)
			}
		})
	}
}

type textError struct{ s string }

func (e *textError) Error() string { return e.s }

func TestRequestBeforeServeDropped(t *testing.T) {
	b := listen(t, Options{}, nil)
	r := newRaw(t)
	r.send(b.LocalAddr(), frame(kindRequest, 1, "early"))
	waitFor(t, "the request to be dropped", func() bool { return b.Stats().Dropped == 1 })
}

func TestNew(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := Listen("127.0.0.1:0", Options{Workers: -1}); err == nil {
		t.Error("Listen with -1 workers succeeded")
	}
	if _, err := Listen("not an address", Options{}); err == nil {
		t.Error("Listen on a bad address succeeded")
	}
	a := listen(t, Options{}, nil)
	if !a.LocalAddr().Addr().Is4() || a.LocalAddr().Port() == 0 {
		t.Errorf("LocalAddr %v, want 127.0.0.1 and a port", a.LocalAddr())
	}
	if err := a.Serve(echo); err != nil {
		t.Fatal(err)
	}
	if err := a.Serve(echo); err == nil {
		t.Error("second Serve succeeded")
	}
	if _, _, err := a.Call(t.Context(), protocol.Contact{Addr: netip.MustParseAddrPort("0.0.0.0:1")}, nil); err == nil {
		t.Error("Call to 0.0.0.0:1 succeeded")
	}
}

// TestFraming checks the bytes of both framings against PROTOCOL.md's: the public
// network's as it always was, and a named network's with its tag.
func TestFraming(t *testing.T) {
	tests := []struct {
		name, network string
		want          string // hex
		tagged        bool
	}{
		{name: "public", network: "", want: "13" + "0102030405060708" + "626f6f6d"},
		{name: "named", network: "alpha", want: "23" + "0102030405060708" + "b994852a" + "626f6f6d", tagged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := framingFor(tt.network)
			b := f.frame(kindError, 0x0102030405060708, "boom")
			if got := hex.EncodeToString(b); got != tt.want {
				t.Errorf("frame = %s, want %s", got, tt.want)
			}
			h, payload, ok := parseHeader(b)
			if !ok || h.kind != kindError || h.tag != 0x0102030405060708 || string(payload) != "boom" || h.named != tt.tagged {
				t.Errorf("parseHeader = %+v, %q, %v", h, payload, ok)
			}
			if !f.accepts(h) {
				t.Errorf("the framing of %q refuses its own header %+v", tt.network, h)
			}
		})
	}
	sum := sha256.Sum256([]byte("kad network alpha"))
	if tag := networkTag("alpha"); !bytes.Equal(tag[:], sum[:4]) {
		t.Errorf("networkTag(alpha) = %x, want %x", tag, sum[:4])
	}
	// PROTOCOL.md (Networks) shows the named case as its example.
	doc, err := os.ReadFile("../../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	if example := "`23 0102030405060708 b994852a 626f6f6d`"; !bytes.Contains(doc, []byte(example)) {
		t.Errorf("PROTOCOL.md does not hold the example %s", example)
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	a, to := benchPair(b)
	transporttest.BenchmarkRoundTrip(b, a, to)
}

func BenchmarkRoundTripParallel(b *testing.B) {
	a, to := benchPair(b)
	transporttest.BenchmarkRoundTripParallel(b, a, to)
}

func benchPair(b *testing.B) (*Transport, protocol.Contact) {
	a, err := Listen("127.0.0.1:0", Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := Listen("127.0.0.1:0", Options{})
	if err != nil {
		a.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(); srv.Close() })
	if err := srv.Serve(echo); err != nil {
		b.Fatal(err)
	}
	return a, protocol.Contact{Addr: srv.LocalAddr()}
}

// TestWorkersEndWhenIdle: workers start with the requests and end after WorkerIdle, so an
// idle transport holds no handler goroutine; a later request starts one again.
func TestWorkersEndWhenIdle(t *testing.T) {
	b := listen(t, Options{Workers: 4, WorkerIdle: 300 * time.Millisecond}, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
		return req, nil
	})
	if w := b.Stats().Workers; w != 0 {
		t.Fatalf("%d workers before any request, want 0", w)
	}
	a := listen(t, Options{}, nil)
	for round := range 2 {
		for i := range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _, err := a.Call(ctx, protocol.Contact{Addr: b.LocalAddr()}, []byte{byte(i)})
			cancel()
			if err != nil {
				t.Fatalf("round %d call %d: %v", round, i, err)
			}
		}
		if w := b.Stats().Workers; w < 1 || w > 4 {
			t.Fatalf("round %d: %d workers after requests, want 1..4", round, w)
		}
		waitFor(t, "the workers to end", func() bool { return b.Stats().Workers == 0 })
	}
}
