package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kad/protocol"
	"kad/transports"
)

// Factory returns a new transport listening on loopback (127.0.0.1), not yet serving. The
// suite closes it (Close is idempotent, so the factory may also register
// t.Cleanup(tr.Close)).
type Factory func(t *testing.T) transports.Transport

// promptly bounds how long an operation the suite expects to finish at once may take
// before the suite calls it stuck. It is generous so that a loaded machine running the
// race detector does not fail; a correct transport answers in microseconds.
const promptly = 5 * time.Second

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, newTransport Factory) {
	s := suite{factory: newTransport}
	tests := []struct {
		name string
		run  func(*testing.T, suite)
	}{
		{"RoundTrip", testRoundTrip},
		{"Concurrent", testConcurrent},
		{"BothDirections", testBothDirections},
		{"CallBackFromHandler", testCallBackFromHandler},
		{"Cancel", testCancel},
		{"Timeout", testTimeout},
		{"LargeMessage", testLargeMessage},
		{"RequestTooLarge", testRequestTooLarge},
		{"ResponseTooLarge", testResponseTooLarge},
		{"CallAfterClose", testCallAfterClose},
		{"CloseUnblocksCall", testCloseUnblocksCall},
		{"CloseEndsHandlers", testCloseEndsHandlers},
		{"Unreachable", testUnreachable},
		{"RemoteError", testRemoteError},
		{"Empty", testEmpty},
		{"CalledID", testCalledID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}

type suite struct {
	factory Factory
}

// open makes a transport and closes it when the test ends. Cleanups registered after
// open run before that Close, which is what lets tests release blocked handlers first.
func (s suite) open(t *testing.T) transports.Transport {
	t.Helper()
	tr := s.factory(t)
	if tr == nil {
		t.Fatal("factory returned a nil transport")
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil && !errors.Is(err, transports.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	if !tr.LocalAddr().IsValid() {
		t.Fatalf("LocalAddr() = %v, want a valid address", tr.LocalAddr())
	}
	return tr
}

// serving opens a transport serving h.
func (s suite) serving(t *testing.T, h transports.Handler) transports.Transport {
	t.Helper()
	tr := s.open(t)
	if err := tr.Serve(h); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	return tr
}

// contact is how a caller addresses tr: its address, and its ID when tr proves one.
func contact(tr transports.Transport) protocol.Contact {
	c := protocol.Contact{Addr: tr.LocalAddr()}
	if id, ok := tr.(transports.Identified); ok {
		c.ID = id.LocalID()
	}
	return c
}

// checkPeer checks what a transport reported of tr: its identity when tr proves one,
// and no claim of proof otherwise.
func checkPeer(t *testing.T, what string, p transports.Peer, tr transports.Transport) {
	t.Helper()
	if id, ok := tr.(transports.Identified); ok {
		if !p.Verified || p.ID != id.LocalID() {
			t.Errorf("%s: ID %s (verified %v), want %s verified", what, p.ID, p.Verified, id.LocalID())
		}
		return
	}
	if p.Verified {
		t.Errorf("%s: Verified is true for a transport that does not implement transports.Identified", what)
	}
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	t.Cleanup(cancel)
	return ctx
}

// echo answers with the request itself: a handler may hand req back, since the
// returned bytes belong to the transport from then on.
func echo(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
	return req, nil
}

// pattern returns n bytes that differ with seed and position, so that a truncated,
// shifted or mixed-up message shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i>>8) ^ seed
	}
	return b
}

// blocker is a handler that reports each request it receives and then waits until the
// test ends or its transport's context ends.
type blocker struct {
	entered chan transports.Peer
	release chan struct{}
}

func newBlocker(t *testing.T) *blocker {
	b := &blocker{entered: make(chan transports.Peer, 16), release: make(chan struct{})}
	t.Cleanup(func() { close(b.release) })
	return b
}

func (b *blocker) handle(ctx context.Context, from transports.Peer, _ []byte) ([]byte, error) {
	select {
	case b.entered <- from:
	default:
	}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return []byte("released"), nil
}

func (b *blocker) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-b.entered:
	case <-time.After(promptly):
		t.Fatal("the request did not reach the handler")
	}
}

type result struct {
	resp []byte
	peer transports.Peer
	err  error
}

// goCall runs a Call in its own goroutine. The transports' Close (at the end of the
// test at the latest) ends it.
func goCall(ctx context.Context, tr transports.Transport, to protocol.Contact, req []byte) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, peer, err := tr.Call(ctx, to, req)
		ch <- result{resp, peer, err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(promptly):
		t.Fatalf("%s: Call did not return within %v", what, promptly)
		return result{}
	}
}

func testRoundTrip(t *testing.T, s suite) {
	type seen struct {
		from transports.Peer
		req  []byte
	}
	got := make(chan seen, 1)
	b := s.serving(t, func(_ context.Context, from transports.Peer, req []byte) ([]byte, error) {
		got <- seen{from, bytes.Clone(req)}
		return append([]byte("pong:"), req...), nil
	})
	// a never calls Serve: a node that only calls (a client) must be able to.
	a := s.open(t)

	resp, peer, err := a.Call(callCtx(t), contact(b), []byte("ping"))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(resp) != "pong:ping" {
		t.Errorf("response %q, want %q", resp, "pong:ping")
	}
	if peer.Addr != b.LocalAddr() {
		t.Errorf("Call's peer address %v, want the called address %v", peer.Addr, b.LocalAddr())
	}
	checkPeer(t, "Call's peer", peer, b)

	sn := <-got
	if string(sn.req) != "ping" {
		t.Errorf("handler saw request %q, want %q", sn.req, "ping")
	}
	if sn.from.Addr != a.LocalAddr() {
		t.Errorf("handler saw the caller at %v, want its LocalAddr %v", sn.from.Addr, a.LocalAddr())
	}
	checkPeer(t, "handler's peer", sn.from, a)
}

func testConcurrent(t *testing.T, s suite) {
	const goroutines, calls = 8, 50
	b := s.serving(t, echo)
	a := s.open(t)
	to := contact(b)
	ctx := callCtx(t)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		kept  [][2][]byte // request and response, checked again at the end
		fails atomic.Int32
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				req := fmt.Appendf(nil, "%d/%d/", g, i)
				req = append(req, pattern((g*calls+i)%200, byte(i))...)
				resp, _, err := a.Call(ctx, to, req)
				if err != nil {
					t.Errorf("call %d/%d: %v", g, i, err)
					fails.Add(1)
					return
				}
				if !bytes.Equal(resp, req) {
					t.Errorf("call %d/%d: response %q, want %q", g, i, resp, req)
					fails.Add(1)
					return
				}
				mu.Lock()
				kept = append(kept, [2][]byte{bytes.Clone(req), resp})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if fails.Load() > 0 {
		return
	}
	// A transport that reuses a buffer it gave away shows here.
	for _, k := range kept {
		if !bytes.Equal(k[0], k[1]) {
			t.Fatalf("a response changed after Call returned it: %q, want %q", k[1], k[0])
		}
	}
}

func testBothDirections(t *testing.T, s suite) {
	const goroutines, calls = 4, 25
	tag := func(name string) transports.Handler {
		return func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
			return append([]byte(name+":"), req...), nil
		}
	}
	a := s.serving(t, tag("a"))
	b := s.serving(t, tag("b"))
	ctx := callCtx(t)

	var wg sync.WaitGroup
	for g := range 2 * goroutines {
		from, to, name := a, b, "b"
		if g%2 == 1 {
			from, to, name = b, a, "a"
		}
		wg.Go(func() {
			for i := range calls {
				req := fmt.Appendf(nil, "%d/%d", g, i)
				resp, _, err := from.Call(ctx, contact(to), req)
				if err != nil {
					t.Errorf("call %d/%d to %s: %v", g, i, name, err)
					return
				}
				if want := name + ":" + string(req); string(resp) != want {
					t.Errorf("call %d/%d: response %q, want %q", g, i, resp, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// testCallBackFromHandler checks that a handler may call the node that called it
// before answering, as a node does when it checks a sender it has not met.
func testCallBackFromHandler(t *testing.T, s suite) {
	b := s.serving(t, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
		return append([]byte("b:"), req...), nil
	})
	a := s.open(t)
	err := a.Serve(func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		to := protocol.Contact{Addr: from.Addr, ID: from.ID}
		inner, _, err := a.Call(ctx, to, []byte("back"))
		if err != nil {
			return nil, fmt.Errorf("calling back %v: %w", from.Addr, err)
		}
		return append(append([]byte("a:"), req...), inner...), nil
	})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	resp, _, err := b.Call(callCtx(t), contact(a), []byte("first/"))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if want := "a:first/b:back"; string(resp) != want {
		t.Errorf("response %q, want %q", resp, want)
	}
}

func testCancel(t *testing.T, s suite) {
	blk := newBlocker(t)
	b := s.serving(t, blk.handle)
	a := s.open(t)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := goCall(ctx, a, contact(b), []byte("wait"))
	blk.waitEntered(t)
	cancel()
	r := await(t, ch, "after cancel")
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("Call error %v, want one matching context.Canceled", r.err)
	}

	// The transport still works after an abandoned call.
	resp, _, err := a.Call(callCtx(t), contact(s.serving(t, echo)), []byte("again"))
	if err != nil || string(resp) != "again" {
		t.Errorf("Call after a canceled call: %q, %v; want %q, nil", resp, err, "again")
	}
}

func testTimeout(t *testing.T, s suite) {
	blk := newBlocker(t)
	b := s.serving(t, blk.handle)
	a := s.open(t)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	r := await(t, goCall(ctx, a, contact(b), []byte("wait")), "after its deadline")
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("Call error %v, want one matching context.DeadlineExceeded", r.err)
	}
}

func testLargeMessage(t *testing.T, s suite) {
	wantReq := pattern(protocol.MaxMessageSize, 1)
	wantResp := pattern(protocol.MaxMessageSize, 2)
	b := s.serving(t, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
		if !bytes.Equal(req, wantReq) {
			return nil, fmt.Errorf("request of %d bytes differs from the %d sent", len(req), len(wantReq))
		}
		return bytes.Clone(wantResp), nil
	})
	a := s.open(t)

	resp, _, err := a.Call(callCtx(t), contact(b), wantReq)
	if err != nil {
		t.Fatalf("Call with %d bytes: %v", len(wantReq), err)
	}
	if !bytes.Equal(resp, wantResp) {
		t.Errorf("response of %d bytes differs from the %d sent", len(resp), len(wantResp))
	}
}

func testRequestTooLarge(t *testing.T, s suite) {
	var reached atomic.Int32
	b := s.serving(t, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
		reached.Add(1)
		return nil, nil
	})
	a := s.open(t)

	_, _, err := a.Call(callCtx(t), contact(b), make([]byte, protocol.MaxMessageSize+1))
	if !errors.Is(err, protocol.ErrTooLarge) {
		t.Errorf("Call with %d bytes: error %v, want one matching protocol.ErrTooLarge", protocol.MaxMessageSize+1, err)
	}
	if _, _, err := a.Call(callCtx(t), contact(b), []byte("small")); err != nil {
		t.Fatalf("Call after the refused one: %v", err)
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1 (the over-limit request must not be sent)", n)
	}
}

func testResponseTooLarge(t *testing.T, s suite) {
	b := s.serving(t, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
		if string(req) == "big" {
			return make([]byte, protocol.MaxMessageSize+1), nil
		}
		return req, nil
	})
	a := s.open(t)

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	r := await(t, goCall(ctx, a, contact(b), []byte("big")), "with an over-limit response")
	if r.err == nil {
		t.Errorf("Call succeeded with a %d-byte response, want an error", len(r.resp))
	}
	resp, _, err := a.Call(callCtx(t), contact(b), []byte("small"))
	if err != nil || string(resp) != "small" {
		t.Errorf("Call after the over-limit response: %q, %v; want %q, nil", resp, err, "small")
	}
}

func testCallAfterClose(t *testing.T, s suite) {
	b := s.serving(t, echo)
	a := s.open(t)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil && !errors.Is(err, transports.ErrClosed) {
		t.Errorf("second Close: %v, want nil or ErrClosed", err)
	}
	_, _, err := a.Call(callCtx(t), contact(b), []byte("x"))
	if !errors.Is(err, transports.ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Call after Close: error %v, want one matching transports.ErrClosed and net.ErrClosed", err)
	}
}

func testCloseUnblocksCall(t *testing.T, s suite) {
	blk := newBlocker(t)
	b := s.serving(t, blk.handle)
	a := s.open(t)

	ch := goCall(callCtx(t), a, contact(b), []byte("wait"))
	blk.waitEntered(t)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	r := await(t, ch, "pending when its transport closed")
	if !errors.Is(r.err, transports.ErrClosed) {
		t.Errorf("pending Call: error %v, want one matching transports.ErrClosed", r.err)
	}
}

// testCloseEndsHandlers checks that Close cancels the context handlers get, so that a
// handler waiting on it does not keep Close from returning.
func testCloseEndsHandlers(t *testing.T, s suite) {
	entered := make(chan struct{}, 1)
	b := s.serving(t, func(ctx context.Context, _ transports.Peer, _ []byte) ([]byte, error) {
		entered <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	a := s.open(t)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := goCall(ctx, a, contact(b), []byte("wait"))
	select {
	case <-entered:
	case <-time.After(promptly):
		t.Fatal("the request did not reach the handler")
	}
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(promptly):
		t.Fatal("Close did not return while a handler waited on its context")
	}
	cancel()
	if r := await(t, ch, "to a closed transport"); r.err == nil {
		t.Errorf("Call to a transport closed mid-request succeeded with %q", r.resp)
	}
}

func testUnreachable(t *testing.T, s suite) {
	a := s.open(t)
	gone := s.open(t)
	to := contact(gone)
	if err := gone.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
	defer cancel()
	r := await(t, goCall(ctx, a, to, []byte("anyone?")), "to an address nobody listens on")
	if !errors.Is(r.err, transports.ErrUnreachable) && !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("Call to %v: error %v, want one matching ErrUnreachable or context.DeadlineExceeded", to.Addr, r.err)
	}
}

func testRemoteError(t *testing.T, s suite) {
	const text = `no such key "k1"`
	b := s.serving(t, func(_ context.Context, _ transports.Peer, _ []byte) ([]byte, error) {
		return []byte("ignored"), errors.New(text)
	})
	a := s.open(t)

	_, _, err := a.Call(callCtx(t), contact(b), []byte("get k1"))
	if !errors.Is(err, transports.ErrRemote) {
		t.Errorf("Call: error %v, want one matching transports.ErrRemote", err)
	}
	if err != nil && !strings.Contains(err.Error(), text) {
		t.Errorf("Call: error %q does not carry the handler's text %q", err, text)
	}
}

func testEmpty(t *testing.T, s suite) {
	tests := []struct {
		name string
		req  []byte
		resp []byte
	}{
		{"nil", nil, nil},
		{"zero length", []byte{}, []byte{}},
		{"empty request", nil, []byte("r")},
		{"empty response", []byte("q"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(chan int, 1)
			b := s.serving(t, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
				seen <- len(req)
				return tc.resp, nil
			})
			a := s.open(t)
			resp, _, err := a.Call(callCtx(t), contact(b), tc.req)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if n := <-seen; n != len(tc.req) {
				t.Errorf("handler saw %d bytes, want %d", n, len(tc.req))
			}
			if !bytes.Equal(resp, tc.resp) {
				t.Errorf("response %q, want %q", resp, tc.resp)
			}
		})
	}
}

// testCalledID checks the ID a caller expects: a transport that proves identities
// refuses a peer proving another, and one that cannot prove them ignores it.
func testCalledID(t *testing.T, s suite) {
	b := s.serving(t, echo)
	a := s.open(t)
	to := contact(b)
	to.ID[0] ^= 0xff // any non-zero ID but b's
	if to.ID.IsZero() {
		to.ID[1] = 1
	}

	resp, peer, err := a.Call(callCtx(t), to, []byte("who"))
	if _, ok := b.(transports.Identified); ok {
		if !errors.Is(err, transports.ErrIDMismatch) {
			t.Errorf("Call under a wrong ID: error %v, want one matching transports.ErrIDMismatch", err)
		}
		return
	}
	if err != nil || string(resp) != "who" {
		t.Fatalf("Call with an ID the transport cannot check: %q, %v; want %q, nil", resp, err, "who")
	}
	if peer.Verified {
		t.Errorf("Call's peer is Verified on a transport that does not implement transports.Identified")
	}
}
