package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"kad/protocol"
	"kad/transports/udp"
)

// udpNode starts a node over UDP on 127.0.0.1 holding a value of valueSize bytes under
// key, and a routing table of 20 contacts, so that NODES replies are full.
func udpNode(t *testing.T, key protocol.ID, valueSize int, off bool) *Node {
	t.Helper()
	tr, err := udp.Listen("127.0.0.1:0", udp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{RequestRate: -1}, tr)
	if err != nil {
		t.Fatal(err)
	}
	n.noAddrValidation.Store(off)
	t.Cleanup(func() { n.Close() })
	for i := range 20 {
		n.table.Seen(protocol.Contact{ID: protocol.RandomID(nil), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), 1}), 4000)})
	}
	if err := n.storeLocal(key, bytes.Repeat([]byte{'v'}, valueSize), time.Hour, protocol.ID{}, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	return n
}

// amplification sends each request from a socket standing for a forged source (the
// replies land on it as they would on a victim) and returns, per request type, the bytes
// received over the bytes sent, datagrams as the wire carries them.
func amplification(t *testing.T, n *Node, reqs map[string]*protocol.Message) map[string]float64 {
	t.Helper()
	victim, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	to := net.UDPAddrFromAddrPort(n.Addr())
	out := make(map[string]float64)
	buf := make([]byte, 70000)
	for name, m := range reqs {
		sent, got := 0, 0
		for range 5 {
			m.RPCID = protocol.NewRPCID()
			b, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			// The UDP framing of PROTOCOL.md: version 1, kind 1 (request), an 8-byte tag.
			d := append([]byte{0x11}, binary.BigEndian.AppendUint64(nil, uint64(len(b)))...)
			d = append(d, b...)
			if _, err := victim.WriteToUDP(d, to); err != nil {
				t.Fatal(err)
			}
			sent += len(d)
			victim.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			k, _, err := victim.ReadFromUDP(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue // no reply: nothing amplified
			}
			if err != nil {
				t.Fatal(err)
			}
			got += k
		}
		out[name] = float64(got) / float64(sent)
	}
	return out
}

func forgedRequests(key protocol.ID) map[string]*protocol.Message {
	sender := protocol.RandomID(nil)
	addr := netip.MustParseAddrPort("127.0.0.1:9")
	return map[string]*protocol.Message{
		"PING":       {Type: protocol.TypePing, Sender: sender, SenderAddr: addr},
		"STORE":      {Type: protocol.TypeStore, Sender: sender, SenderAddr: addr, Key: protocol.KeyFromString("forged"), Value: []byte("x")},
		"FIND_NODE":  {Type: protocol.TypeFindNode, Sender: sender, SenderAddr: addr, Key: protocol.RandomID(nil)},
		"FIND_VALUE": {Type: protocol.TypeFindValue, Sender: sender, SenderAddr: addr, Key: key},
		"FIND_VALUE of a missing key": {Type: protocol.TypeFindValue, Sender: sender, SenderAddr: addr,
			Key: protocol.RandomID(nil)},
		"garbage":                     {Type: protocol.TypePong, Sender: sender}, // a reply sent as a request
		"PING asking for a dial-back": {Type: protocol.TypePing, Sender: sender, Flags: protocol.FlagDialBack, Nonce: []byte("12345678")},
		"PING ordering a dial-back": {Type: protocol.TypePing, Sender: sender, Nonce: []byte("12345678"),
			Target: netip.MustParseAddrPort("127.0.0.1:10")},
	}
}

// TestAmplificationLimit: from an address it has not validated, whatever the request, a
// node sends back at most three times the bytes it received (PROTOCOL.md, "Address
// validation"); with validation off, FIND_NODE and FIND_VALUE amplify far more.
func TestAmplificationLimit(t *testing.T) {
	key := protocol.KeyFromString("big")
	n := udpNode(t, key, 60_000, false)
	for name, f := range amplification(t, n, forgedRequests(key)) {
		t.Logf("%s: %.2fx", name, f)
		if f > amplificationLimit {
			t.Errorf("%s from a forged address: %.2fx the bytes sent, limit %d", name, f, amplificationLimit)
		}
	}
	if _, ok, _ := n.store.Get(protocol.KeyFromString("forged"), time.Now()); ok {
		t.Error("a STORE from a forged address without a token was stored")
	}
	off := udpNode(t, key, 60_000, true)
	f := amplification(t, off, forgedRequests(key))
	t.Logf("validation off: FIND_NODE %.2fx, FIND_VALUE %.2fx", f["FIND_NODE"], f["FIND_VALUE"])
	if f["FIND_NODE"] <= amplificationLimit || f["FIND_VALUE"] <= amplificationLimit {
		t.Errorf("with validation off the factors are %.2f and %.2f: the test would not see amplification", f["FIND_NODE"], f["FIND_VALUE"])
	}
}

// TestTokenRoundTrip: a node that speaks to another over UDP gets its token from the
// first reply; its STORE then carries it, its FIND_VALUE of a large value is answered in
// full, and it enters the other's table with no PING needed.
func TestTokenRoundTrip(t *testing.T) {
	key := protocol.KeyFromString("big")
	a := udpNode(t, key, 60_000, false)
	b := udpNode(t, protocol.KeyFromString("other"), 10, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	value, _, found, err := b.FindValue(ctx, a.Contact(), key)
	if err != nil || !found || len(value) != 60_000 {
		t.Fatalf("find value: found %v, %d bytes, %v", found, len(value), err)
	}
	if b.peerTokens.get(a.Addr()) == nil {
		t.Fatal("b kept no token of a's")
	}
	if err := b.StoreAt(ctx, a.Contact(), protocol.KeyFromString("k"), []byte("v")); err != nil {
		t.Fatalf("store with the token: %v", err)
	}
	if !a.table.ContainsAt(b.Contact()) {
		t.Error("b proved its address with a's token, yet is not in a's table")
	}
	if st := a.Stats(); st.ReceivedOf(protocol.TypeStore, ReceivedUnvalidated) != 0 {
		t.Errorf("%d STOREs refused as unvalidated, want 0", st.ReceivedOf(protocol.TypeStore, ReceivedUnvalidated))
	}
}

// TestTokens: a token is good for the address it was issued to, through one rotation of
// the secret, and no further.
func TestTokens(t *testing.T) {
	now := time.Now()
	ti := newTokenIssuer(now)
	a := netip.MustParseAddrPort("192.0.2.1:4000")
	tok := ti.issue(a, now)
	if ok, cur := ti.check(tok, a, now); !ok || !cur {
		t.Fatalf("fresh token: valid %v current %v", ok, cur)
	}
	for _, other := range []string{"192.0.2.1:4001", "192.0.2.2:4000", "[::ffff:192.0.2.2]:4000"} {
		if ok, _ := ti.check(tok, netip.MustParseAddrPort(other), now); ok {
			t.Errorf("token of %s accepted from %s", a, other)
		}
	}
	if ok, cur := ti.check(tok, a, now.Add(tokenRotation)); !ok || cur {
		t.Errorf("after one rotation: valid %v current %v, want valid, not current", ok, cur)
	}
	if ok, _ := ti.check(tok, a, now.Add(2*tokenRotation)); ok {
		t.Error("token accepted after two rotations")
	}
	if ok, _ := ti.check(tok[:4], a, now); ok {
		t.Error("a truncated token accepted")
	}
}

// TestAdmissionNeedsAnAnswer: a requester without a token enters the routing table only
// by answering the PING it draws; a forged source that never answers never enters, and
// the contacts a NODES reply names are not added to the asker's table.
func TestAdmissionNeedsAnAnswer(t *testing.T) {
	key := protocol.KeyFromString("k")
	a := udpNode(t, key, 10, false)
	forged := protocol.RandomID(nil)
	amplification(t, a, map[string]*protocol.Message{
		"FIND_NODE": {Type: protocol.TypeFindNode, Sender: forged, Key: protocol.RandomID(nil)},
	})
	tr, err := udp.Listen("127.0.0.1:0", udp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{RequestRate: -1}, tr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// b asks with a token-less request, as a node that has never called a does.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	contacts, err := b.FindNode(ctx, a.Contact(), protocol.RandomID(nil))
	if err != nil || len(contacts) == 0 {
		t.Fatalf("find node: %d contacts, %v", len(contacts), err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !a.table.ContainsAt(b.Contact()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !a.table.ContainsAt(b.Contact()) {
		t.Error("b answered a's PING, yet is not in a's table")
	}
	if a.table.Contains(forged) {
		t.Error("a forged requester that never answered entered the table")
	}
	for _, c := range contacts {
		if b.table.Contains(c.ID) {
			t.Errorf("contact %s, learned from NODES, entered b's table before answering", c.ID.Short())
		}
	}
}

// TestTokenCacheSweep: a sweep drops the tokens their issuers no longer accept, keeps
// the young ones, and makes the map anew once it has emptied to a quarter of its peak.
func TestTokenCacheSweep(t *testing.T) {
	c := newTokenCache(tokenCacheLen)
	c.epoch = time.Now().Add(-time.Hour)
	for i := range 100 {
		c.put(netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 4000), []byte("token"))
	}
	c.sweep(time.Now())
	if len(c.toks) != 100 || c.peak != 100 {
		t.Fatalf("a sweep of young tokens left %d, peak %d; want all 100", len(c.toks), c.peak)
	}
	c.epoch = c.epoch.Add(-tokenLife - time.Minute) // the 100 are now past their life
	young := netip.MustParseAddrPort("198.51.100.1:4000")
	c.put(young, []byte("young"))
	c.sweep(time.Now())
	if len(c.toks) != 1 || c.peak != 1 || string(c.get(young)) != "young" {
		t.Fatalf("after the sweep: %d tokens, peak %d, young %q; want the young one alone in a new map", len(c.toks), c.peak, c.get(young))
	}
}
