package quic

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"kad/protocol"
	"kad/transports"
)

func TestLingerClosesUnused(t *testing.T) {
	opts := Options{Linger: 100 * time.Millisecond} // IdleTimeout stays 30s
	b := newTransport(t, opts)
	opts.Keep = keepIDs(b) // so that its ticket stays
	a := newTransport(t, opts)
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
	keepAll := func(protocol.ID) bool { return true }
	a := newTransport(t, Options{Linger: 50 * time.Millisecond, Keep: keepAll})
	b := newTransport(t, Options{Linger: 50 * time.Millisecond})
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
	a := newTransport(t, Options{Linger: 50 * time.Millisecond, Keep: func(protocol.ID) bool { return true }})
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

// TestStrangersTicketsForgotten: the ticket of a peer the node does not keep goes when
// its connection ends, so the next dial to it is a full handshake; a kept peer's stays,
// and its next dial resumes.
func TestStrangersTicketsForgotten(t *testing.T) {
	kept := newTransport(t, Options{})
	stranger := newTransport(t, Options{})
	serve(t, kept, echo)
	serve(t, stranger, echo)
	a := newTransport(t, Options{Linger: 50 * time.Millisecond, Keep: keepIDs(kept)})
	for range 2 {
		mustCall(t, a, contact(kept), "x")
		mustCall(t, a, contact(stranger), "x")
		waitFor(t, "the connections to close", func() bool { return a.Stats().Conns == 0 })
	}
	if got := a.Stats().Resumed; got != 1 {
		t.Errorf("%d dials resumed, want 1: the kept peer's second", got)
	}
}

// TestLingerMemosForgotten: the memos of ended connections go once older than
// 2·MaxLinger, which no new linger would use, and the map is made anew once it has
// emptied to a quarter of its peak, so an idle node does not keep the room of the busiest
// moment; a memo still young is kept and still lengthens the next linger.
func TestLingerMemosForgotten(t *testing.T) {
	o := Options{Linger: time.Second, MaxLinger: 4 * time.Second, MaxConns: 1000, IdleTimeout: time.Minute}
	var c connCache
	c.init(nil)
	now := time.Now()
	for i := range 100 {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 4000)
		c.endedLocked(&peerConn{addr: addr, lastUse: now.Add(-9 * time.Second)}, now, &o)
	}
	young := netip.MustParseAddrPort("198.51.100.1:4000")
	c.endedLocked(&peerConn{addr: young, lastUse: now.Add(-time.Second)}, now, &o)
	if len(c.lingers) != 101 || c.lingersPeak != 101 {
		t.Fatalf("%d memos, peak %d; want 101 of each", len(c.lingers), c.lingersPeak)
	}
	c.forgetLocked(now, &o)
	if len(c.lingers) != 1 || c.lingersPeak != 1 {
		t.Fatalf("after forgetting: %d memos, peak %d; want the young one alone, the map made anew", len(c.lingers), c.lingersPeak)
	}
	if got := c.lingerForLocked(young, false, now, &o); got != 2*time.Second {
		t.Errorf("linger after a gap of 1s: %v, want 2s", got)
	}
}
