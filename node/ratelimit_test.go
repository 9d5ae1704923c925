package node

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestSourceLimiterMatchesRate: for each sender the limiter decides as
// golang.org/x/time/rate's Limiter does, over random request times. The rate and the
// gaps make every token count a multiple of 1/2, which both compute exactly.
func TestSourceLimiterMatchesRate(t *testing.T) {
	const perSecond, burst, senders = 4, 5, 2
	l := newSourceLimiter(perSecond, burst, senderRule{})
	ref := make([]*rate.Limiter, senders)
	for i := range ref {
		ref[i] = rate.NewLimiter(perSecond, burst)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := l.epoch
	allowed, denied := 0, 0
	for range 20_000 {
		now = now.Add(time.Duration(rng.IntN(2)) * 125 * time.Millisecond)
		i := rng.IntN(senders)
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 4000)
		got, want := l.allow(addr, now), ref[i].AllowN(now, 1)
		if got != want {
			t.Fatalf("sender %d at %v: allow = %v, x/time/rate says %v", i, now.Sub(l.epoch), got, want)
		}
		if got {
			allowed++
		} else {
			denied++
		}
	}
	if allowed == 0 || denied == 0 {
		t.Fatalf("%d allowed, %d denied: the sequence does not test both", allowed, denied)
	}
}

// TestSourceLimiterForgets: the buckets of senders gone quiet are dropped by a sweep, a
// flood of new senders never grows the limiter past its bound, and a sender still
// draining its burst keeps its bucket through a sweep.
func TestSourceLimiterForgets(t *testing.T) {
	l := newSourceLimiter(10, 2, senderRule{})
	now := l.epoch
	for i := range 3 * rateLimiterSources {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}), 1)
		if !l.allow(addr, now) {
			t.Fatalf("new sender %d refused", i)
		}
		if n := l.senders(); n > rateLimiterSources {
			t.Fatalf("%d senders remembered, bound %d", n, rateLimiterSources)
		}
	}
	hot := netip.MustParseAddrPort("192.0.2.1:1")
	l.allow(hot, now)
	l.allow(hot, now)
	if l.allow(hot, now) {
		t.Fatal("third request within a burst of 2 allowed")
	}
	l.sweep(now.Add(50 * time.Millisecond)) // half a token: no bucket is full yet
	if n := l.senders(); n == 0 {
		t.Fatal("a sweep dropped buckets still draining")
	}
	l.sweep(now.Add(time.Second)) // everyone is full again
	if n := l.senders(); n != 0 {
		t.Fatalf("%d senders remembered after all went quiet, want 0", n)
	}
	if l.peak != 0 {
		t.Errorf("peak %d after all went quiet: the map was not made anew", l.peak)
	}
	var nilLimiter *sourceLimiter
	nilLimiter.sweep(now)
	if !nilLimiter.allow(hot, now) {
		t.Fatal("a nil limiter refused")
	}
}

// TestRateLimiterShrinksKeepingState: a sweep that leaves a quarter of the peak or less
// makes the map anew, and the buckets still draining keep their tokens in it.
func TestRateLimiterShrinksKeepingState(t *testing.T) {
	now := time.Now()
	l := newSourceLimiter(1, 2, senderRule{})
	for i := range 1000 {
		l.allow(netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}), 1), now)
	}
	hot := netip.MustParseAddrPort("192.0.2.1:1")
	later := now.Add(1500 * time.Millisecond) // the others are full again
	l.allow(hot, later)
	l.allow(hot, later)
	l.sweep(later)
	if n := l.senders(); n != 1 || l.peak != 1 {
		t.Fatalf("after the sweep: %d senders, peak %d; want the hot one alone in a new map", n, l.peak)
	}
	if l.allow(hot, later) {
		t.Error("the hot sender's empty bucket was lost in the new map")
	}
}

// TestRateLimiterSweepsAsItGoes: once a refill time has passed since the last sweep, a
// request sweeps the full buckets itself, so the map holds the senders of the last few
// seconds even when the node's own sweep is a minute away.
func TestRateLimiterSweepsAsItGoes(t *testing.T) {
	now := time.Now()
	l := newSourceLimiter(1, 2, senderRule{}) // a bucket refills in 2 s
	for i := range 500 {
		l.allow(netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}), 1), now)
	}
	hot := netip.MustParseAddrPort("192.0.2.1:1")
	l.allow(hot, now.Add(time.Second))
	l.allow(hot, now.Add(time.Second)) // empty: full again at 3 s
	if n := l.senders(); n != 501 {
		t.Fatalf("%d senders within the refill time, want 501", n)
	}
	l.allow(netip.MustParseAddrPort("192.0.2.2:1"), now.Add(2500*time.Millisecond))
	if n := l.senders(); n != 2 {
		t.Errorf("%d senders after the refill time, want 2: the one still draining and the new one", n)
	}
}
