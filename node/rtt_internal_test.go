package node

import (
	"net/netip"
	"testing"
	"time"

	"kad/protocol"
)

// TestAdaptiveTimeouts: a request's timeout follows the round trips of its contact, or
// the node's when the contact was never timed, or the Config's when nothing was; and it
// stays within [max(minRPCTimeout, RPCTimeout/4), RPCTimeout].
func TestAdaptiveTimeouts(t *testing.T) {
	n := udpNode(t, protocol.KeyFromString("k"), 1, false)
	n.cfg.RPCTimeout, n.cfg.StragglerDelay = 2*time.Second, 150*time.Millisecond
	near := protocol.Contact{ID: protocol.ID{0x81}, Addr: netip.MustParseAddrPort("192.0.2.1:4000")}
	far := protocol.Contact{ID: protocol.ID{0x41}, Addr: netip.MustParseAddrPort("198.51.100.1:4000")}
	stranger := protocol.Contact{ID: protocol.ID{0x21}, Addr: netip.MustParseAddrPort("203.0.113.1:4000")}
	n.table.Seen(near)
	n.table.Seen(far)
	// What an answer does: the node's estimate and the contact's take the round trip.
	answered := func(c protocol.Contact, rtt time.Duration) {
		n.rtt.observe(rtt)
		n.recordRTT(c, outcomeAnswered, rtt)
	}
	if st, to := n.timeouts(stranger); st != 150*time.Millisecond || to != 2*time.Second {
		t.Errorf("nothing timed: straggler %v, timeout %v; want the Config's 150ms, 2s", st, to)
	}
	for range 20 {
		answered(near, 10*time.Millisecond)
		answered(far, 300*time.Millisecond)
	}
	st, to := n.timeouts(near)
	if floor := n.cfg.RPCTimeout / 4; to != floor || st >= 150*time.Millisecond {
		t.Errorf("steady 10ms round trips: straggler %v, timeout %v; want under 150ms and the floor %v", st, to, floor)
	}
	st, to = n.timeouts(far)
	if to < 600*time.Millisecond || to > 2*time.Second || st != 150*time.Millisecond {
		t.Errorf("steady 300ms round trips: straggler %v, timeout %v; want 150ms and at least twice the round trip", st, to)
	}
	// A stranger starts from the node's own figures: between the two.
	if _, to := n.timeouts(stranger); to <= n.cfg.RPCTimeout/4 || to >= 2*time.Second {
		t.Errorf("a stranger's timeout %v, want the node's, between the contacts'", to)
	}
	for range 20 {
		answered(far, 5*time.Second)
	}
	if _, to := n.timeouts(far); to != 2*time.Second {
		t.Errorf("5s round trips: timeout %v, want RPCTimeout", to)
	}
}

// TestSuspects: a contact is a suspect once a request to it failed, in the routing table
// (Failing) or outside it (the suspect cache), until it answers or sends a request, or,
// outside the table, until suspectTTL passes.
func TestSuspects(t *testing.T) {
	n := udpNode(t, protocol.KeyFromString("s"), 1, false)
	inTable := protocol.Contact{ID: protocol.ID{0x81}, Addr: netip.MustParseAddrPort("192.0.2.1:4000")}
	stranger := protocol.Contact{ID: protocol.ID{0x21}, Addr: netip.MustParseAddrPort("203.0.113.1:4000")}
	n.table.Seen(inTable)
	if n.suspect(inTable) || n.suspect(stranger) {
		t.Fatal("a suspect before any failure")
	}
	// Named at an address that does not answer, neither becomes a suspect at its own.
	n.record(protocol.Contact{ID: inTable.ID, Addr: netip.MustParseAddrPort("198.51.100.9:4000")}, outcomeFailed)
	n.record(protocol.Contact{ID: stranger.ID, Addr: netip.MustParseAddrPort("198.51.100.9:4000")}, outcomeFailed)
	if n.suspect(inTable) || n.suspect(stranger) {
		t.Fatalf("after failures at another address: suspect %v (in the table), %v (outside); want neither", n.suspect(inTable), n.suspect(stranger))
	}
	n.record(inTable, outcomeFailed)
	n.record(stranger, outcomeFailed)
	if !n.suspect(inTable) || !n.suspect(stranger) {
		t.Fatalf("after a failure: suspect %v (in the table), %v (outside); want both", n.suspect(inTable), n.suspect(stranger))
	}
	if !n.table.Contains(inTable.ID) || n.table.Contains(stranger.ID) {
		t.Fatal("the failures moved contacts in or out of the table")
	}
	n.record(inTable, outcomeAnswered)
	n.record(stranger, outcomeRequested)
	if n.suspect(inTable) || n.suspect(stranger) {
		t.Errorf("heard from again: suspect %v (in the table), %v (outside); want neither", n.suspect(inTable), n.suspect(stranger))
	}
	now := time.Now()
	n.suspects.failed(stranger, now.Add(-suspectTTL))
	if n.suspect(stranger) {
		t.Error("still a suspect suspectTTL after its failure")
	}
	n.suspects.failed(stranger, now)
	if !n.suspects.has(stranger, now.Add(suspectTTL-time.Second)) {
		t.Error("no longer a suspect before suspectTTL")
	}
}
