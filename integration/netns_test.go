//go:build linux

package integration

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kad/protocol"
	"kad/routing"
)

// TestNetns's network and its bounds.
const (
	// netnsK is small so that a get leaves its node: 4 of the 10 nodes hold a value. It
	// is also larger than the per-bucket subnet limit, so that the limit, not the
	// bucket's size, is what keeps contacts out.
	netnsK    = 4
	netnsPort = 4000 // every node's port; each host has an address of its own
	// netnsPerKind is how many forged requests of each type the forger sends under each
	// forged sender: a few dozen datagrams in all, well below the rate limit.
	netnsPerKind = 10
	// netnsPace spaces the forged datagrams, so that neither the forger's nor the
	// target's first datagrams wait long on ARP and no socket buffer overflows.
	netnsPace = 2 * time.Millisecond
	// netnsBigValue is the size of the value the forged FIND_VALUEs ask for: its VALUE
	// reply is almost the largest a datagram carries.
	netnsBigValue = 60_000
	// netnsWatch is how long the test watches, after the last forged datagram, what the
	// target sends to the victim and what enters its routing table.
	netnsWatch = 3 * time.Second
	// netnsConverge bounds the wait for the routing tables to fill.
	netnsConverge = 20 * time.Second
	// netnsMaxFactor is how many times the bytes a sender sent a node may send back to
	// an address it has not validated (RFC 9000, section 8).
	netnsMaxFactor = 3
)

// TestNetns builds a small network of hosts in network namespaces — each with its own
// address, on one bridge in a namespace of its own, so that no packet leaves what the
// test made — and runs one kad node per host over UDP, with the subnet limits turned on
// for the private range it uses (--subnet-limits-everywhere):
//
//   - six nodes in 10.77.1.0/24 and two in each of 10.77.2.0/24 and 10.77.3.0/24, under
//     IDs chosen so that the six all fall in bucket 0 of the four others and the four in
//     bucket 0 of the six: each of the four holds two of the six (the per-bucket limit,
//     with room for k = 4), each of the six holds all four;
//   - a host in 10.77.8.0/24 sends requests whose IP source address is another host's (a
//     victim in 10.77.9.0/24 that runs no node, only counts what it receives): the
//     victim's address must enter no routing table, and the victim must receive at most
//     three times the bytes the forger sent;
//   - after that, every node still finds every value put before.
//
// It needs root on Linux and the ip command, and skips otherwise. Every namespace is
// removed when the test ends, and the nodes in them are killed first.
func TestNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 10 processes in network namespaces")
	}
	if why := netnsUnusable(); why != "" {
		t.Skip(why)
	}
	netnsRemoveStale(t)
	lab := newNetnsLab(t)

	// The hosts: a, b and c run nodes, the forger and the victim do not. The six of a
	// share 10.77.1.0/24 and IDs whose first bit is 1; b and c have two hosts each, in
	// 10.77.2.0/24 and 10.77.3.0/24, and IDs whose first bit is 0.
	type hostSpec struct {
		name string
		addr string
		high bool // the ID's first bit
	}
	var specs []hostSpec
	for _, g := range []struct {
		letter string
		subnet string
		hosts  int
		high   bool
	}{{"a", "10.77.1", 6, true}, {"b", "10.77.2", 2, false}, {"c", "10.77.3", 2, false}} {
		for i := range g.hosts {
			specs = append(specs, hostSpec{fmt.Sprintf("%s%d", g.letter, i+1), fmt.Sprintf("%s.%d", g.subnet, 11+i), g.high})
		}
	}
	var nodes []*netnsHost
	for _, s := range specs {
		h := lab.addHost(s.name, netip.MustParseAddr(s.addr))
		h.id = netnsID(s.name, s.high)
		nodes = append(nodes, h)
	}
	forger := lab.addHost("forger", netip.MustParseAddr("10.77.8.66"))
	victim := lab.addHost("victim", netip.MustParseAddr("10.77.9.99"))
	byName := make(map[string]*netnsHost)
	for _, h := range nodes {
		byName[h.name] = h
	}
	a, b1, c1, c2 := nodes[:6], byName["b1"], byName["c1"], byName["c2"]
	bc := nodes[6:]

	// The nodes: a1 first, every other joining through it.
	start := time.Now()
	for i, h := range nodes {
		args := []string{"--transport", "udp", "--bind", h.contact().Addr.String(), "--id", h.id.String(),
			"--k", strconv.Itoa(netnsK), "--subnet-limits-everywhere", "--timeout", cmdTimeout.String(),
			"--log-level", "info"}
		if i > 0 {
			args = append(args, "--bootstrap", nodes[0].contact().String())
		}
		h.start(t, args...)
	}
	// The console answers once bootstrapping is over; a failed bootstrap ends the
	// process, which shows as the end of its output.
	for _, h := range nodes {
		if got := h.p.doFinal("id"); got != h.p.firstLine {
			t.Fatalf("%s: id answered %q, first line was %q", h.name, got, h.p.firstLine)
		}
	}
	t.Logf("%d nodes up and bootstrapped in %v", len(nodes), time.Since(start).Round(time.Millisecond))

	// Values put from nodes of each /24, found again by every node at the end.
	values := map[string]string{}
	for i, h := range []*netnsHost{a[1], b1, c2, a[4], byName["b2"], a[0]} {
		key, value := fmt.Sprintf("netns-%d", i), fmt.Sprintf("value %d, put by %s", i, h.name)
		got := h.p.doFinal("put " + key + " " + value)
		n, ok := strings.CutPrefix(got, "stored on ")
		stored, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(n, " nodes"), " node"))
		if !ok || err != nil || stored < netnsK/2 {
			t.Fatalf("%s: put %s: %q, want stored on at least %d nodes", h.name, key, got, netnsK/2)
		}
		values[key] = value
	}

	t.Run("subnet limits", func(t *testing.T) {
		netnsCheckLimits(t, nodes, a, bc)
	})

	t.Run("forged source", func(t *testing.T) {
		// The target holds a large value, which the forged FIND_VALUEs ask for.
		bigKey := protocol.KeyFromString("netns-big")
		if got := c2.p.doFinal(fmt.Sprintf("s %s %s %s", b1.contact(), bigKey, strings.Repeat("v", netnsBigValue))); got != "stored at "+b1.contact().Addr.String() {
			t.Fatalf("c2: s to b1: %q", got)
		}
		victimAddr := netip.AddrPortFrom(victim.addr, netnsPort)
		counter := listenNetnsCounter(t, victim.ns, victimAddr)
		f := openNetnsForger(t, forger.ns, victimAddr)

		// First, that forging works here: a datagram to a socket of the target's host
		// arrives there as from the victim. Otherwise a victim that receives nothing
		// would prove nothing.
		witnessAddr := netip.AddrPortFrom(b1.addr, netnsPort+1)
		witness := listenNetnsCounter(t, b1.ns, witnessAddr)
		if err := f.send(witnessAddr, []byte("forged")); err != nil {
			t.Fatalf("forger: %v", err)
		}
		for polls := 0; witness.snapshot().from[victimAddr] == 0; polls++ {
			if polls == 100 {
				t.Fatalf("a forged datagram to %s did not arrive from %s within a second: %+v", witnessAddr, victimAddr, witness.snapshot())
			}
			time.Sleep(10 * time.Millisecond)
		}
		f.sent, f.datagrams = 0, 0 // that one went to the witness, not to a node

		// Two forged senders: an ID of no node, in an empty bucket of the target's (so
		// that nothing but a rule keeps it out), and c1's ID, as if c1 had moved to the
		// victim's address.
		fresh := b1.id
		fresh[3] ^= 1
		rng := rand.New(rand.NewPCG(7, 7))
		msg := func(typ protocol.Type, sender protocol.ID) *protocol.Message {
			m := &protocol.Message{Type: typ, Sender: sender, SenderAddr: victimAddr}
			binary.BigEndian.PutUint64(m.RPCID[:], rng.Uint64())
			switch typ {
			case protocol.TypeFindNode:
				m.Key = netnsRandomID(rng)
			case protocol.TypeStore:
				m.Key, m.Value, m.TTL = netnsRandomID(rng), []byte("forged value"), 60
			case protocol.TypeFindValue:
				m.Key = bigKey
			}
			return m
		}
		// The FIND_VALUEs last: by then the target has the victim's link address.
		pace := time.NewTicker(netnsPace)
		defer pace.Stop()
		for _, typ := range []protocol.Type{protocol.TypePing, protocol.TypeFindNode, protocol.TypeStore, protocol.TypeFindValue} {
			for _, sender := range []protocol.ID{fresh, c1.id} {
				for range netnsPerKind {
					m := msg(typ, sender)
					payload, err := m.Encode()
					if err != nil {
						t.Fatalf("encoding %s: %v", typ, err)
					}
					if err := f.send(b1.contact().Addr, netnsFrame(rng.Uint64(), payload)); err != nil {
						t.Fatalf("forger: %v", err)
					}
					<-pace.C
				}
			}
		}

		// Watch the target's table for a while, then look at every table: none may
		// hold the victim's address, under the fresh ID, c1's or any other, nor the
		// fresh ID, nor c1 anywhere but at its own address. The window is the point
		// here, not a condition to wait for.
		var bad []string
		check := func(h *netnsHost) {
			for _, ct := range h.p.contacts("table") {
				if ct.Addr.Addr() == victim.addr || ct.ID == fresh || (ct.ID == c1.id && ct != c1.contact()) {
					if e := h.name + ": " + ct.String(); !slices.Contains(bad, e) {
						bad = append(bad, e)
					}
				}
			}
		}
		watch := time.NewTicker(netnsWatch / 10)
		defer watch.Stop()
		for range 10 {
			check(b1)
			<-watch.C
		}
		for _, h := range nodes {
			check(h)
		}
		if len(bad) > 0 {
			t.Errorf("forged contacts admitted into routing tables (the victim is %s, the forged IDs %s and c1's %s): %s",
				victim.addr, fresh.Short(), c1.id.Short(), strings.Join(bad, ", "))
		}

		got := counter.snapshot()
		factor := float64(got.bytes) / float64(f.sent)
		t.Logf("forger sent %d datagrams, %d bytes of UDP payload, from %s (forged) to b1 %s",
			f.datagrams, f.sent, victimAddr, b1.contact().Addr)
		t.Logf("victim received %d datagrams, %d bytes of UDP payload, within %v of the last: %.1f times what the forger sent (at most %d allowed)",
			got.datagrams, got.bytes, netnsWatch, factor, netnsMaxFactor)
		for _, from := range slices.SortedFunc(maps.Keys(got.from), netip.AddrPort.Compare) {
			t.Logf("  from %s: %d bytes", from, got.from[from])
		}
		for _, what := range slices.Sorted(maps.Keys(got.what)) {
			w := got.what[what]
			t.Logf("  %s: %d datagrams, %d bytes", what, w.datagrams, w.bytes)
		}
		if got.bytes > netnsMaxFactor*f.sent {
			t.Errorf("the victim received %d bytes for the forger's %d: %.1f times, want at most %d times", got.bytes, f.sent, factor, netnsMaxFactor)
		}
	})

	t.Run("values", func(t *testing.T) {
		for _, h := range nodes {
			for key, value := range values {
				if got := h.p.doFinal("get " + key); got != "value "+value {
					t.Errorf("%s: get %s: %q, want %q", h.name, key, got, "value "+value)
				}
			}
		}
	})

	for _, h := range nodes {
		h.p.stop()
	}
}

// netnsCheckLimits waits for the routing tables to fill and checks, at every look, that
// no bucket holds more than routing.DefaultMaxPerSubnetBucket contacts of one /24, and
// no table more than routing.DefaultMaxPerSubnetTable. Filled means: each node of bc
// holds the per-bucket limit of a's nodes (all in its bucket 0, which has room for more)
// and every other node of bc; each node of a holds every node of bc (its bucket 0, two
// of each /24).
func netnsCheckLimits(t *testing.T, nodes, a, bc []*netnsHost) {
	t.Helper()
	rule := routing.AddrRule{Everywhere: true}
	inA := make(map[protocol.ID]bool)
	for _, h := range a {
		inA[h.id] = true
	}
	known := make(map[protocol.ID]netip.AddrPort)
	for _, h := range nodes {
		known[h.id] = h.contact().Addr
	}
	deadline := time.Now().Add(netnsConverge)
	for polls := 0; ; polls++ {
		// Every node looks every other up, so that each has heard of all and each has
		// answered all: a node learns of far ones only from traffic, and bootstrapping
		// alone may leave one out. What stays out of a table after this, the limits
		// kept out.
		for _, h := range nodes {
			for _, o := range nodes {
				if o != h {
					h.p.contacts("ln " + o.id.String())
				}
			}
		}
		var missing []string
		tables := make(map[string][]protocol.Contact)
		for _, h := range nodes {
			cs := h.p.contacts("table")
			tables[h.name] = cs
			type bucketSubnet struct {
				bucket int
				subnet netip.Prefix
			}
			perBucket := make(map[bucketSubnet]int)
			perTable := make(map[netip.Prefix]int)
			fromA, fromBC := 0, 0
			for _, ct := range cs {
				if addr, ok := known[ct.ID]; !ok || addr != ct.Addr {
					t.Fatalf("%s: contact %s is no node of the network", h.name, ct)
				}
				p, ok := rule.Subnet(ct.Addr)
				if !ok {
					t.Fatalf("%s: contact %s counts against no subnet", h.name, ct)
				}
				bucket := h.id.CommonPrefixLen(ct.ID)
				if perBucket[bucketSubnet{bucket, p}]++; perBucket[bucketSubnet{bucket, p}] > routing.DefaultMaxPerSubnetBucket {
					t.Fatalf("%s: bucket %d holds more than %d contacts of %s: %v", h.name, bucket, routing.DefaultMaxPerSubnetBucket, p, cs)
				}
				if perTable[p]++; perTable[p] > routing.DefaultMaxPerSubnetTable {
					t.Fatalf("%s: table holds more than %d contacts of %s: %v", h.name, routing.DefaultMaxPerSubnetTable, p, cs)
				}
				if inA[ct.ID] {
					fromA++
				} else {
					fromBC++
				}
			}
			wantA, wantBC := routing.DefaultMaxPerSubnetBucket, len(nodes)-len(a)-1
			if inA[h.id] {
				wantA, wantBC = -1, len(nodes)-len(a) // any of a's
			}
			if (wantA >= 0 && fromA < wantA) || fromBC < wantBC {
				missing = append(missing, fmt.Sprintf("%s: %d of a, %d of b and c", h.name, fromA, fromBC))
			}
		}
		if len(missing) == 0 {
			for _, h := range nodes {
				t.Logf("%s %s: %s", h.name, h.contact().Addr.Addr(), netnsSubnetCounts(rule, tables[h.name]))
			}
			t.Logf("each of b and c holds %d of the %d nodes of 10.77.1.0/24, which all fall in its bucket 0 (room for %d); each of a holds all %d nodes of b and c (lookups from every node to every other: %d rounds)",
				routing.DefaultMaxPerSubnetBucket, len(a), netnsK, len(bc), polls+1)
			return
		}
		if time.Now().After(deadline) || polls >= 200 {
			t.Errorf("the routing tables did not fill within %v: %s", netnsConverge, strings.Join(missing, "; "))
			return
		}
	}
}

// netnsSubnetCounts describes a table as its contacts per /24: "10.77.1.0/24: 2, ...".
func netnsSubnetCounts(rule routing.AddrRule, cs []protocol.Contact) string {
	n := make(map[netip.Prefix]int)
	for _, ct := range cs {
		if p, ok := rule.Subnet(ct.Addr); ok {
			n[p]++
		}
	}
	ps := slices.SortedFunc(maps.Keys(n), func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s: %d", p, n[p]))
	}
	return fmt.Sprintf("%d contacts (%s)", len(cs), strings.Join(parts, ", "))
}

// netnsID is a fixed node ID for a host, its first bit set or not.
func netnsID(name string, high bool) protocol.ID {
	sum := sha256.Sum256([]byte("kad netns test " + name))
	var id protocol.ID
	copy(id[:], sum[:])
	if high {
		id[0] |= 0x80
	} else {
		id[0] &^= 0x80
	}
	return id
}

func netnsRandomID(rng *rand.Rand) protocol.ID {
	var id protocol.ID
	for i := range id {
		id[i] = byte(rng.Uint32())
	}
	return id
}

// netnsFrame puts a request message behind the UDP transport's header for the public
// network (PROTOCOL.md, "UDP"): version 1, kind 1 (request), then the tag.
func netnsFrame(tag uint64, payload []byte) []byte {
	b := make([]byte, netnsHeaderLen, netnsHeaderLen+len(payload))
	b[0] = 1<<4 | 1
	binary.BigEndian.PutUint64(b[1:], tag)
	return append(b, payload...)
}

// netnsHeaderLen is the length of the UDP transport's header on the public network.
const netnsHeaderLen = 9
