package quic

import (
	"reflect"
	"testing"
)

// TestCounters: Counters reports the Stats under their names, and moves with them.
func TestCounters(t *testing.T) {
	a := newTransport(t, Options{})
	b := newTransport(t, Options{})
	serve(t, a, echo)
	serve(t, b, echo)
	mustCall(t, a, contact(b), "x")
	counters := func(tr *Transport) map[string]float64 {
		got := map[string]float64{}
		for _, c := range tr.Counters() {
			got[c.Name] = c.Value
		}
		return got
	}
	// Every field of Stats is a counter, so that a new one is not left out.
	if got := counters(a); len(got) != 14 || len(got) != reflect.TypeFor[Stats]().NumField() || got["dials"] != 1 || got["accepts"] != 0 || got["conns"] != 1 || got["wrong_network"] != 0 {
		t.Errorf("a: %v, want 1 dial, 0 accepts, 1 connection, no handshake of another network", got)
	}
	waitFor(t, "b's accept counted", func() bool { return b.Stats().Accepts == 1 })
	if got := counters(b); got["dials"] != 0 || got["accepts"] != 1 {
		t.Errorf("b: %v, want 0 dials, 1 accept", got)
	}
}
