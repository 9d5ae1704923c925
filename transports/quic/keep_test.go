package quic

import (
	"net/netip"
	"testing"

	"kad/protocol"
)

// holds reports whether tr has a live connection that calls to addr would use.
func holds(tr *Transport, addr netip.AddrPort) bool {
	tr.cache.mu.Lock()
	defer tr.cache.mu.Unlock()
	pc := tr.cache.byAddr[addr]
	return pc != nil && pc.conn.Context().Err() == nil
}

func keepIDs(trs ...*Transport) func(protocol.ID) bool {
	kept := map[protocol.ID]bool{}
	for _, tr := range trs {
		kept[tr.LocalID()] = true
	}
	return func(id protocol.ID) bool { return kept[id] }
}

func newPeers(t *testing.T, n int) []*Transport {
	t.Helper()
	var peers []*Transport
	for range n {
		p := newTransport(t, Options{})
		serve(t, p, echo)
		peers = append(peers, p)
	}
	return peers
}

// TestEvictionSparesKeptPeers: strangers calling a full transport take the places of
// other strangers, incoming ones first, never those of peers Keep keeps.
func TestEvictionSparesKeptPeers(t *testing.T) {
	kept := newPeers(t, 2)
	srv := newTransport(t, Options{MaxConns: 3, Keep: keepIDs(kept...)})
	serve(t, srv, echo)
	for _, k := range kept {
		mustCall(t, k, contact(srv), "kept")
	}
	dialed := newPeers(t, 1)[0]
	mustCall(t, srv, contact(dialed), "dialed")
	strangers := newPeers(t, 5)
	for i, s := range strangers {
		mustCall(t, s, contact(srv), "stranger")
		for _, k := range kept {
			if !holds(srv, k.LocalAddr()) {
				t.Fatalf("after stranger %d: the kept peer %s's connection was evicted", i, k.LocalAddr())
			}
		}
		if i == 0 && holds(srv, dialed.LocalAddr()) {
			t.Errorf("the first stranger evicted another incoming stranger, not the dialed one")
		}
		if i > 0 && holds(srv, strangers[i-1].LocalAddr()) {
			t.Errorf("stranger %d did not take stranger %d's place", i, i-1)
		}
	}
	if got := srv.Stats(); got.Conns != 3 || got.RefusedFull != 0 {
		t.Errorf("%+v, want 3 connections, none refused", got)
	}
	for _, k := range kept {
		mustCall(t, k, contact(srv), "still kept")
		if got := k.Stats().Dials; got != 1 {
			t.Errorf("kept peer dialed %d times, want 1", got)
		}
	}
}

// TestFullOfKeptPeersRefusesStrangers: when only kept peers' connections could make
// room, an incoming stranger is refused and counted, while a dial still gets a place.
func TestFullOfKeptPeersRefusesStrangers(t *testing.T) {
	kept := newPeers(t, 2)
	srv := newTransport(t, Options{MaxConns: 2})
	srv.SetKeep(keepIDs(kept...)) // as a node does once its routing table exists
	serve(t, srv, echo)
	for _, k := range kept {
		mustCall(t, k, contact(srv), "kept")
	}
	stranger := newPeers(t, 1)[0]
	if _, _, err := stranger.Call(testCtx(t), contact(srv), []byte("x")); err == nil {
		t.Error("a stranger's call went through a transport full of kept peers")
	}
	waitFor(t, "the refusal counted", func() bool { return srv.Stats().RefusedFull == 1 })
	for _, k := range kept {
		if !holds(srv, k.LocalAddr()) {
			t.Fatalf("the kept peer %s's connection was evicted for a stranger", k.LocalAddr())
		}
	}
	// A call the node makes itself may take a kept peer's place.
	mustCall(t, srv, contact(stranger), "dialed")
	if got := srv.Stats().Conns; got != 2 {
		t.Errorf("%d connections, want 2", got)
	}
}
