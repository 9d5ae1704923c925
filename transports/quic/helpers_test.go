package quic

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"kad/protocol"
	"kad/transports"
)

func newKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

// logWriter sends the transport's logs to the test log.
type logWriter struct {
	tb testing.TB
	mu sync.Mutex
	on bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.on {
		w.tb.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

// newTransport starts a transport on 127.0.0.1 with a new key, closed at cleanup.
func newTransport(tb testing.TB, opts Options) *Transport {
	tb.Helper()
	return newTransportKey(tb, newKey(tb), opts)
}

func newTransportKey(tb testing.TB, key ed25519.PrivateKey, opts Options) *Transport {
	tb.Helper()
	if opts.Logger == nil {
		if _, ok := tb.(*testing.T); ok {
			w := &logWriter{tb: tb, on: true}
			opts.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
			tb.Cleanup(func() { w.mu.Lock(); w.on = false; w.mu.Unlock() })
		}
	}
	tr, err := Listen("127.0.0.1:0", key, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := tr.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return tr
}

// echo answers with the request prefixed by "re:".
func echo(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
	return append([]byte("re:"), req...), nil
}

func serve(tb testing.TB, tr *Transport, h transports.Handler) {
	tb.Helper()
	if err := tr.Serve(h); err != nil {
		tb.Fatal(err)
	}
}

func contact(tr *Transport) protocol.Contact {
	return protocol.Contact{ID: tr.LocalID(), Addr: tr.LocalAddr()}
}

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// mustCall calls to and fails the test unless the echo handler answered.
func mustCall(tb testing.TB, from *Transport, to protocol.Contact, req string) transports.Peer {
	tb.Helper()
	resp, peer, err := from.Call(testCtx(tb), to, []byte(req))
	if err != nil {
		tb.Fatalf("call %s: %v", to.Addr, err)
	}
	if got, want := string(resp), "re:"+req; got != want {
		tb.Fatalf("response %q, want %q", got, want)
	}
	return peer
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freeAddr returns a closed UDP port on 127.0.0.1: nothing listens there.
func freeAddr(tb testing.TB) netip.AddrPort {
	tb.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	addr := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	return addr
}
