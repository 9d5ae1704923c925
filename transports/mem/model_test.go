package mem_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"kad/transports/mem"
)

// TestNAT: a host behind a NAT is reached only by those it sent to within the mapping's
// life; its own calls, and their replies, pass.
func TestNAT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNetwork(t, mem.Options{Latency: 10 * time.Millisecond})
		natted, outside, stranger := node(t, n, echo), node(t, n, echo), node(t, n, echo)
		n.SetNAT(natted.LocalAddr(), time.Minute)
		const timeout = time.Second
		if _, err := call(outside, natted, timeout); err == nil {
			t.Fatal("an unsolicited request reached the host behind the NAT")
		}
		if rtt, err := call(natted, outside, timeout); err != nil || rtt != 20*time.Millisecond {
			t.Fatalf("the host's own call: %v after %v, want an answer after 20ms", err, rtt)
		}
		if _, err := call(outside, natted, timeout); err != nil {
			t.Fatalf("a request from an address the host sent to: %v", err)
		}
		if _, err := call(stranger, natted, timeout); err == nil {
			t.Fatal("a request from another address got through the mapping")
		}
		time.Sleep(time.Minute)
		if _, err := call(outside, natted, timeout); err == nil {
			t.Fatal("a request got through a mapping that had expired")
		}
		if got := n.Stats().Filtered; got != 3 {
			t.Fatalf("%d requests filtered, want 3", got)
		}
		n.SetNAT(natted.LocalAddr(), 0)
		if _, err := call(stranger, natted, timeout); err != nil {
			t.Fatalf("after the NAT was taken away: %v", err)
		}
	})
}

// pairModel delays every message by the sum of its two hosts' delays, and loses those
// to one host.
type pairModel struct {
	delay map[netip.Addr]time.Duration
	lose  netip.Addr
}

func (m *pairModel) Delay(from, to netip.Addr, _ *rand.Rand) (time.Duration, bool) {
	if to == m.lose || from == m.lose {
		return 0, false
	}
	return m.delay[from] + m.delay[to], true
}

// TestModel: with a Model, every message takes the delay it gives, and is lost when it
// says so.
func TestModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &pairModel{delay: map[netip.Addr]time.Duration{}}
		n := newNetwork(t, mem.Options{Model: m})
		a, b, c := node(t, n, echo), node(t, n, echo), node(t, n, echo)
		m.delay[a.LocalAddr().Addr()] = 3 * time.Millisecond
		m.delay[b.LocalAddr().Addr()] = 40 * time.Millisecond
		m.lose = c.LocalAddr().Addr()
		if rtt, err := call(a, b, time.Second); err != nil || rtt != 2*43*time.Millisecond {
			t.Fatalf("a to b: %v after %v, want an answer after 86ms", err, rtt)
		}
		if _, err := call(a, c, time.Second); err == nil {
			t.Fatal("a message the model lost was delivered")
		}
		if got := n.Stats().Lost; got != 1 {
			t.Fatalf("%d messages lost, want 1", got)
		}
	})
	if _, err := mem.NewNetwork(mem.Options{Model: &pairModel{}, Latency: time.Millisecond}); err == nil {
		t.Fatal("a Model beside a fixed Latency was accepted")
	}
}
