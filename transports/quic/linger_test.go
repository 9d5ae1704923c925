package quic

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"kad/protocol"
	"kad/transports"
)

func TestLingerClosesUnused(t *testing.T) {
	opts := Options{Linger: 100 * time.Millisecond} // IdleTimeout stays 30s
	a := newTransport(t, opts)
	b := newTransport(t, opts)
	serve(t, b, echo)
	mustCall(t, a, contact(b), "once")
	waitFor(t, "the unused connection to close on both sides", func() bool {
		return a.Stats().Conns == 0 && b.Stats().Conns == 0
	})
	if got := a.Stats().LingerClosed + b.Stats().LingerClosed; got != 1 {
		t.Errorf("%d connections closed for lingering, want 1", got)
	}
	// The next call dials again and resumes the session.
	mustCall(t, a, contact(b), "again")
	if got := a.Stats(); got.Dials != 2 || got.Resumed != 1 {
		t.Errorf("a: %+v, want 2 dials, 1 resumed", got)
	}
	if got := b.Stats(); got.Accepts != 2 || got.Resumed != 1 {
		t.Errorf("b: %+v, want 2 accepts, 1 resumed", got)
	}
}

func TestLingerKeepsBusyConnection(t *testing.T) {
	opts := Options{Linger: 100 * time.Millisecond}
	a := newTransport(t, opts)
	b := newTransport(t, opts)
	serve(t, b, echo)
	for range 10 {
		mustCall(t, a, contact(b), "x")
		time.Sleep(20 * time.Millisecond)
	}
	if got := a.Stats().Dials; got != 1 {
		t.Errorf("%d dials for calls 20ms apart with a 100ms linger, want 1", got)
	}
}

// A peer called again soon after its connection closed gets twice the gap as its new
// linger, up to MaxLinger, until its connection outlives the gap between calls; one
// not called for 2·MaxLinger starts over.
func TestLingerGrowsForPeerCalledAgain(t *testing.T) {
	const linger, maxLinger = 60 * time.Millisecond, 400 * time.Millisecond
	a := newTransport(t, Options{Linger: linger, MaxLinger: maxLinger})
	b := newTransport(t, Options{Linger: time.Hour}) // only a's linger matters
	serve(t, b, echo)
	lingerOf := func() time.Duration {
		t.Helper()
		a.cache.mu.Lock()
		defer a.cache.mu.Unlock()
		pc := a.cache.byAddr[b.LocalAddr()]
		if pc == nil {
			t.Fatal("no connection to b")
		}
		return pc.linger
	}
	var prev time.Duration
	for i := range 5 {
		mustCall(t, a, contact(b), "x")
		got := lingerOf()
		switch want := min(2*prev, maxLinger); {
		case i == 0 && got != linger:
			t.Errorf("first connection: linger %v, want %v", got, linger)
		case i > 0 && (got < want || got > maxLinger):
			t.Errorf("connection %d: linger %v, want %v..%v", i, got, want, maxLinger)
		}
		prev = got
		waitFor(t, "the connection to close", func() bool { return a.Stats().LingerClosed == int64(i+1) })
	}
	if prev != maxLinger {
		t.Errorf("fifth connection: linger %v, want MaxLinger %v", prev, maxLinger)
	}
	time.Sleep(2*maxLinger + 50*time.Millisecond)
	mustCall(t, a, contact(b), "later")
	if got := lingerOf(); got != linger {
		t.Errorf("after a long pause: linger %v, want %v", got, linger)
	}
}

// A resumed connection proves the same identities as the full handshake that issued
// its ticket, on both sides.
func TestResumedConnectionKeepsIdentity(t *testing.T) {
	opts := Options{Linger: 50 * time.Millisecond}
	a := newTransport(t, opts)
	b := newTransport(t, opts)
	var (
		mu   sync.Mutex
		seen []transports.Peer
	)
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		mu.Lock()
		seen = append(seen, from)
		mu.Unlock()
		return echo(ctx, from, req)
	})
	for i := range 2 {
		peer := mustCall(t, a, contact(b), "x")
		if want := (transports.Peer{Addr: b.LocalAddr(), ID: b.LocalID(), Verified: true}); peer != want {
			t.Errorf("call %d: peer %+v, want %+v", i, peer, want)
		}
		waitFor(t, "the connection to close", func() bool { return a.Stats().Conns == 0 })
	}
	if got := a.Stats().Resumed; got != 1 {
		t.Fatalf("%d resumed, want 1", got)
	}
	want := transports.Peer{Addr: a.LocalAddr(), ID: a.LocalID(), Verified: true}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("handler saw %d requests, want 2", len(seen))
	}
	for i, p := range seen {
		if p != want {
			t.Errorf("request %d: handler saw %+v, want %+v", i, p, want)
		}
	}
}

// A ticket is bound to the key that issued it: another node now at the address cannot
// take the session over, so the handshake is a full one that proves the new key.
func TestResumptionAfterAddressChangesHands(t *testing.T) {
	a := newTransport(t, Options{Linger: 50 * time.Millisecond})
	b, err := Listen("127.0.0.1:0", newKey(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, b, echo)
	addr, oldID := b.LocalAddr(), b.LocalID()
	mustCall(t, a, contact(b), "x")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the connection to close", func() bool { return a.Stats().Conns == 0 })

	c := newRestarted(t, newKey(t), addr.String()) // another key at the same address
	serve(t, c, echo)
	_, _, err = a.Call(testCtx(t), protocol.Contact{ID: oldID, Addr: addr}, []byte("x"))
	if !errors.Is(err, transports.ErrIDMismatch) {
		t.Fatalf("call under the old ID: %v, want ErrIDMismatch", err)
	}
	if peer := mustCall(t, a, protocol.Contact{Addr: addr}, "y"); peer.ID != c.LocalID() || !peer.Verified {
		t.Errorf("peer %+v, want the new node %s verified", peer, c.LocalID())
	}
	if got := a.Stats().Resumed; got != 0 {
		t.Errorf("%d resumed with a ticket of another key, want 0", got)
	}
}
