package routing

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"kad/protocol"
)

// idAt returns an ID whose common prefix with self is exactly prefix bits, with the bits
// after it set from n so that IDs made with different n differ.
func idAt(self protocol.ID, prefix int, n uint16) protocol.ID {
	id := self
	byteIdx, bit := prefix/8, prefix%8
	id[byteIdx] ^= 0x80 >> bit
	// Write n into the last two bytes, which lie after the prefix for prefix < 144.
	id[18], id[19] = byte(n>>8), byte(n)
	return id
}

func addrN(n int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}), 4000)
}

func TestTableBucketOrderAndEviction(t *testing.T) {
	synctest.Test(t, testBucketOrderAndEviction)
}

// fullBucket returns a table of bucket size k whose bucket prefix holds k contacts,
// added in order (so the first is the least recently seen).
func fullBucket(t *testing.T, k, prefix int) (*Table, protocol.ID, []protocol.Contact) {
	t.Helper()
	self := protocol.ID{0x55}
	rt := NewTable(self, k)
	var cs []protocol.Contact
	for i := range k {
		c := protocol.Contact{ID: idAt(self, prefix, uint16(i)), Addr: addrN(i)}
		cs = append(cs, c)
		if res := rt.Seen(c); !res.Added || !res.Ping.ID.IsZero() {
			t.Fatalf("contact %d: got %+v, want added without ping", i, res)
		}
	}
	return rt, self, cs
}

func testBucketOrderAndEviction(t *testing.T) {
	const k = 4
	rt, self, cs := fullBucket(t, k, 3)
	// A newcomer meets a full bucket whose oldest contact was just heard from: no ping.
	early := protocol.Contact{ID: idAt(self, 3, 99), Addr: addrN(99)}
	if res := rt.Seen(early); res.Added || !res.Ping.ID.IsZero() {
		t.Fatalf("full bucket with a fresh oldest contact: got %+v, want neither add nor ping", res)
	}
	time.Sleep(livenessWindow + time.Second)
	// Seeing the oldest again moves it to the tail: the next full-bucket check pings cs[1].
	rt.Seen(cs[0])
	extra := protocol.Contact{ID: idAt(self, 3, 100), Addr: addrN(100)}
	res := rt.Seen(extra)
	if res.Added || res.Ping != cs[1] {
		t.Fatalf("full bucket: got %+v, want ping of %v", res, cs[1])
	}
	// A second newcomer while the check is under way does not start another.
	extra2 := protocol.Contact{ID: idAt(self, 3, 101), Addr: addrN(101)}
	if res := rt.Seen(extra2); !res.Ping.ID.IsZero() {
		t.Fatalf("second newcomer started another ping: %+v", res)
	}
	if rt.Contains(extra.ID) || rt.Len() != k {
		t.Fatalf("newcomer admitted into a full bucket")
	}
	// The oldest is alive: it stays, moved to the tail; the newcomers wait.
	rt.PingDone(cs[1], true)
	if !rt.Contains(cs[1].ID) || rt.Contains(extra.ID) {
		t.Fatalf("live contact evicted")
	}
	// Next check goes to cs[2]; it is dead: the most recent replacement takes its place.
	res = rt.Seen(protocol.Contact{ID: idAt(self, 3, 102), Addr: addrN(102)})
	if res.Ping != cs[2] {
		t.Fatalf("got ping of %v, want %v", res.Ping, cs[2])
	}
	rt.PingDone(cs[2], false)
	if rt.Contains(cs[2].ID) {
		t.Fatalf("dead contact kept")
	}
	if !rt.Contains(idAt(self, 3, 102)) {
		t.Fatalf("most recent replacement not promoted")
	}
	if rt.Len() != k {
		t.Fatalf("len %d, want %d", rt.Len(), k)
	}
}

func TestTableFailedEvictsWithReplacement(t *testing.T) {
	self := protocol.ID{0x01}
	rt := NewTable(self, 2)
	a := protocol.Contact{ID: idAt(self, 10, 1), Addr: addrN(1)}
	b := protocol.Contact{ID: idAt(self, 10, 2), Addr: addrN(2)}
	c := protocol.Contact{ID: idAt(self, 10, 3), Addr: addrN(3)}
	rt.Seen(a)
	rt.Seen(b)
	if rt.Failing(a) {
		t.Fatal("a contact that never failed is Failing")
	}
	// Without a replacement, a contact survives maxFails-1 failures, Failing.
	for range maxFails - 1 {
		if !rt.Failed(a) {
			t.Fatal("Failed reports the contact gone before maxFails failures")
		}
	}
	if !rt.Contains(a.ID) || !rt.Failing(a) {
		t.Fatalf("contact dropped before %d failures with no replacement, or not Failing", maxFails)
	}
	if rt.Failed(a) || rt.Contains(a.ID) || rt.Failing(a) {
		t.Fatalf("contact kept after %d failures", maxFails)
	}
	rt.Seen(a)
	if rt.Failing(a) {
		t.Fatal("a contact seen again is still Failing")
	}
	rt.Seen(c) // bucket full: c becomes a replacement
	rt.PingDone(b, true)
	if rt.Failed(a) || rt.Contains(a.ID) || !rt.Contains(c.ID) {
		t.Fatalf("failed contact not replaced at once by the waiting replacement")
	}
}

// TestTableFailedAtAnotherAddress: failures of an ID at an address other than the
// table's count for nothing, so naming a contact's ID at a dead address in replies
// cannot push the contact out; nor can it purge a replacement.
func TestTableFailedAtAnotherAddress(t *testing.T) {
	self := protocol.ID{0x01}
	rt := NewTable(self, 1)
	a := protocol.Contact{ID: idAt(self, 10, 1), Addr: addrN(1)}
	r := protocol.Contact{ID: idAt(self, 10, 2), Addr: addrN(2)}
	rt.Seen(a)
	rt.Seen(r) // bucket of 1 full: r waits as a replacement
	for range maxFails {
		if rt.Failed(protocol.Contact{ID: a.ID, Addr: addrN(9)}) {
			t.Fatal("Failed at another address reports the contact kept, Failing")
		}
		rt.Failed(protocol.Contact{ID: r.ID, Addr: addrN(9)})
	}
	if !rt.Contains(a.ID) || rt.Failing(a) {
		t.Fatalf("after failures at another address: in the table %v, Failing %v; want in, not Failing", rt.Contains(a.ID), rt.Failing(a))
	}
	// The replacement is still there: a's own failure promotes it.
	if rt.Failed(a) || !rt.Contains(r.ID) {
		t.Fatalf("a's failure at its address: replacement in the table %v, want it promoted", rt.Contains(r.ID))
	}
}

func TestTableAddressChangeDoesNotMoveContact(t *testing.T) {
	self := protocol.ID{0x01}
	rt := NewTable(self, 3)
	a := protocol.Contact{ID: idAt(self, 5, 1), Addr: addrN(1)}
	rt.Seen(a)
	rt.Seen(protocol.Contact{ID: a.ID, Addr: addrN(9)})
	got := rt.Closest(a.ID, 1)
	if len(got) != 1 || got[0] != a {
		t.Fatalf("got %v, want %v kept", got, a)
	}
}

func TestTableIgnoresSelf(t *testing.T) {
	self := protocol.ID{0x01}
	rt := NewTable(self, 3)
	rt.Seen(protocol.Contact{ID: self, Addr: addrN(1)})
	if rt.Len() != 0 {
		t.Fatal("own contact admitted")
	}
	// Nothing the network can say about the node's own ID may crash the table.
	rt.Failed(protocol.Contact{ID: self})
	rt.Remove(self)
	rt.PingDone(protocol.Contact{ID: self}, false)
	if rt.Contains(self) || len(rt.Closest(self, 3)) != 0 {
		t.Fatal("own contact present")
	}
}

// TestClosestIsTrulyClosest checks Closest against a brute-force sort of every contact by
// XOR distance, computed with big integers.
func TestClosestIsTrulyClosest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			self := randID(rng)
			rt := NewTable(self, 8)
			for i := range 400 {
				rt.Seen(protocol.Contact{ID: randID(rng), Addr: addrN(i)})
			}
			all := rt.All()
			for range 20 {
				target := randID(rng)
				if rng.IntN(4) == 0 {
					target = self
				}
				for _, n := range []int{1, 5, 20, len(all) + 5} {
					got := rt.Closest(target, n)
					want := slices.Clone(all)
					slices.SortFunc(want, func(a, b protocol.Contact) int {
						return bigDist(a.ID, target).Cmp(bigDist(b.ID, target))
					})
					want = want[:min(n, len(want))]
					if !slices.Equal(got, want) {
						t.Fatalf("Closest(%s, %d) differs from brute force", target.Short(), n)
					}
				}
			}
		})
	}
}

func randID(rng *rand.Rand) protocol.ID {
	var id protocol.ID
	for i := range id {
		id[i] = byte(rng.UintN(256))
	}
	return id
}

func bigDist(a, b protocol.ID) *big.Int {
	x := a.Xor(b)
	return new(big.Int).SetBytes(x[:])
}

func TestStaleBuckets(t *testing.T) {
	self := protocol.ID{0x01}
	rt := NewTable(self, 3)
	rt.Touch(idAt(self, 2, 0), testNow)
	stale := rt.StaleBuckets(testNow, 4)
	if !slices.Equal(stale, []int{0, 1, 3, 4}) {
		t.Fatalf("stale buckets %v, want [0 1 3 4]", stale)
	}
}

func BenchmarkTableSeen(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	self := randID(rng)
	rt := NewTable(self, protocol.K)
	cs := make([]protocol.Contact, 4096)
	for i := range cs {
		cs[i] = protocol.Contact{ID: randID(rng), Addr: addrN(i)}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res := rt.Seen(cs[i%len(cs)])
		if !res.Ping.ID.IsZero() {
			rt.PingDone(res.Ping, true)
		}
	}
}

func BenchmarkTableClosest(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	self := randID(rng)
	rt := NewTable(self, protocol.K)
	for i := range 5000 {
		rt.Seen(protocol.Contact{ID: randID(rng), Addr: addrN(i)})
	}
	dst := make([]protocol.Contact, 0, 64)
	target := randID(rng)
	b.ReportAllocs()
	for b.Loop() {
		dst = rt.AppendClosest(dst[:0], target, protocol.K)
	}
}

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func publicAddr(a, b, c, d byte) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{a, b, c, d}), 4000)
}

// TestTableSubnetLimits: one public /24 fills at most 2 places in a bucket and 10
// in the table; other subnets, and loopback or private addresses, are not held back.
func TestTableSubnetLimits(t *testing.T) {
	self := protocol.ID{0x01}
	rt := NewTable(self, 20)
	// Five contacts of 203.0.113.0/24 in bucket 3: two get in.
	for i := range 5 {
		rt.Seen(protocol.Contact{ID: idAt(self, 3, uint16(i)), Addr: publicAddr(203, 0, 113, byte(10+i))})
	}
	if n := rt.Len(); n != DefaultMaxPerSubnetBucket {
		t.Fatalf("%d contacts of one /24 in a bucket, want %d", n, DefaultMaxPerSubnetBucket)
	}
	// Another /24 in the same bucket is not held back.
	rt.Seen(protocol.Contact{ID: idAt(self, 3, 100), Addr: publicAddr(198, 51, 100, 1)})
	if !rt.Contains(idAt(self, 3, 100)) {
		t.Fatal("contact of another subnet refused")
	}
	// Across buckets, the /24 stops at 10 contacts in the table.
	for bucket := 4; bucket < 20; bucket++ {
		for i := range 2 {
			rt.Seen(protocol.Contact{ID: idAt(self, bucket, uint16(i)), Addr: publicAddr(203, 0, 113, byte(bucket*2+i))})
		}
	}
	count := 0
	for _, c := range rt.All() {
		if c.Addr.Addr().As4()[0] == 203 {
			count++
		}
	}
	if count != DefaultMaxPerSubnetTable {
		t.Fatalf("%d contacts of one /24 in the table, want %d", count, DefaultMaxPerSubnetTable)
	}
	// Removing one frees a place.
	var one protocol.ID
	for _, c := range rt.All() {
		if c.Addr.Addr().As4()[0] == 203 {
			one = c.ID
			break
		}
	}
	rt.Remove(one)
	rt.Seen(protocol.Contact{ID: idAt(self, 30, 1), Addr: publicAddr(203, 0, 113, 250)})
	if !rt.Contains(idAt(self, 30, 1)) {
		t.Fatal("place freed by a removal not reusable")
	}
	// Loopback and private addresses are exempt: a bucket fills from one of each.
	for _, base := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.1")} {
		rt := NewTable(self, 8)
		for i := range 8 {
			rt.Seen(protocol.Contact{ID: idAt(self, 3, uint16(i)), Addr: netip.AddrPortFrom(base, uint16(4000+i))})
		}
		if rt.Len() != 8 {
			t.Fatalf("%s: %d contacts, want a full bucket of 8", base, rt.Len())
		}
	}
	// No limit when disabled.
	rt = NewTable(self, 8)
	rt.SetSubnetLimits(-1, -1)
	for i := range 8 {
		rt.Seen(protocol.Contact{ID: idAt(self, 3, uint16(i)), Addr: publicAddr(203, 0, 113, byte(i+1))})
	}
	if rt.Len() != 8 {
		t.Fatalf("limits disabled: %d contacts, want 8", rt.Len())
	}
}

// TestTableNoDuplicateAfterAddressChange: a known contact seen at another address
// waits as a replacement; evicting some other contact must not list its ID twice.
func TestTableNoDuplicateAfterAddressChange(t *testing.T) {
	self := protocol.ID{0x01}
	rt := NewTable(self, 2)
	a := protocol.Contact{ID: idAt(self, 5, 1), Addr: addrN(1)}
	b := protocol.Contact{ID: idAt(self, 5, 2), Addr: addrN(2)}
	rt.Seen(a)
	rt.Seen(b)
	rt.Seen(protocol.Contact{ID: a.ID, Addr: addrN(9)}) // a at another address
	rt.Failed(b)                                        // evicts b; the replacement is a's other address
	seen := map[protocol.ID]int{}
	for _, c := range rt.All() {
		seen[c.ID]++
	}
	if seen[a.ID] != 1 {
		t.Fatalf("contact listed %d times", seen[a.ID])
	}
}

// TestTablePingDropped: a check that was never sent leaves the contact as it was — not
// refreshed, not failed — and the bucket asks for the same check again. (Reporting it as
// alive, as PingDone(c, true) does, would move an unchecked contact to the tail.)
func TestTablePingDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const k = 3
		rt, self, cs := fullBucket(t, k, 2)
		time.Sleep(livenessWindow + time.Second)
		res := rt.Seen(protocol.Contact{ID: idAt(self, 2, 50), Addr: addrN(50)})
		if res.Ping != cs[0] {
			t.Fatalf("got ping of %v, want %v", res.Ping, cs[0])
		}
		rt.PingDropped(res.Ping)
		res = rt.Seen(protocol.Contact{ID: idAt(self, 2, 51), Addr: addrN(51)})
		if res.Ping != cs[0] {
			t.Fatalf("after a dropped check: ping of %v, want %v again (unchecked, so not refreshed)", res.Ping, cs[0])
		}
		if got := rt.All(); len(got) != k || got[0] != cs[0] {
			t.Fatalf("after a dropped check the bucket is %v, want %v first", got, cs[0])
		}
		// Dropping a check does not count against the contact either: it stays through
		// maxFails dropped checks.
		for range maxFails + 1 {
			rt.PingDropped(cs[0])
		}
		if !rt.Contains(cs[0].ID) {
			t.Fatal("dropped checks evicted the contact")
		}
	})
}

func TestExemptAndSubnet(t *testing.T) {
	tests := []struct {
		addr   string
		exempt bool
		subnet string // "" when exempt
	}{
		{"127.0.0.1:4000", true, ""},
		{"[::1]:4000", true, ""},
		{"10.1.2.3:4000", true, ""},
		{"192.168.0.9:4000", true, ""},
		{"172.16.5.5:4000", true, ""},
		{"[fd00::1]:4000", true, ""},
		{"169.254.1.1:4000", true, ""},
		{"[fe80::1]:4000", true, ""},
		{"0.0.0.0:4000", true, ""},
		{"[::]:4000", true, ""},
		{"[::ffff:127.0.0.1]:4000", true, ""},
		{"198.51.100.7:4000", false, "198.51.100.0/24"},
		{"[::ffff:198.51.100.7]:4000", false, "198.51.100.0/24"},
		{"[2001:db8:1:2:3:4:5:6]:4000", false, "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tt.addr)
			if got := Exempt(ap.Addr()); got != tt.exempt {
				t.Errorf("Exempt = %v, want %v", got, tt.exempt)
			}
			p, ok := Subnet(ap)
			if ok == tt.exempt || (ok && p.String() != tt.subnet) {
				t.Errorf("Subnet = %v, %v; want %q", p, ok, tt.subnet)
			}
		})
	}
}

// TestTableSubnetLimitsEverywhere: turned on everywhere, the limits hold loopback and
// private addresses to 2 a bucket and 10 a table per /24 as they do public ones, and
// contacts already held are counted under the new rule.
func TestTableSubnetLimitsEverywhere(t *testing.T) {
	self := protocol.ID{0x01}
	loopback := func(host byte, port uint16) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, host}), port)
	}
	rt := NewTable(self, 20)
	rt.SetSubnetLimitsEverywhere(true)
	for i := range 5 {
		rt.Seen(protocol.Contact{ID: idAt(self, 3, uint16(i)), Addr: loopback(1, uint16(4000+i))})
	}
	if n := rt.Len(); n != DefaultMaxPerSubnetBucket {
		t.Fatalf("%d loopback contacts in a bucket, want %d", n, DefaultMaxPerSubnetBucket)
	}
	for bucket := 4; bucket < 20; bucket++ {
		for i := range 2 {
			rt.Seen(protocol.Contact{ID: idAt(self, bucket, uint16(i)), Addr: loopback(byte(bucket), uint16(4000+i))})
		}
	}
	if n := rt.Len(); n != DefaultMaxPerSubnetTable {
		t.Fatalf("%d loopback contacts in the table, want %d", n, DefaultMaxPerSubnetTable)
	}
	// Another private /24 is counted apart.
	rt.Seen(protocol.Contact{ID: idAt(self, 3, 100), Addr: netip.MustParseAddrPort("10.1.2.3:4000")})
	if !rt.Contains(idAt(self, 3, 100)) {
		t.Fatal("contact of another subnet refused")
	}

	// Contacts admitted while exempt count once the rule changes: the table admits no
	// more of their /24, and turning the rule off again frees them.
	rt = NewTable(self, 20)
	for i := range 5 {
		rt.Seen(protocol.Contact{ID: idAt(self, 3, uint16(i)), Addr: loopback(1, uint16(4000+i))})
	}
	rt.SetSubnetLimitsEverywhere(true)
	rt.Seen(protocol.Contact{ID: idAt(self, 4, 1), Addr: loopback(2, 5000)})
	if rt.Len() != 6 || !rt.Contains(idAt(self, 4, 1)) {
		t.Fatalf("%d contacts; want the 5 held and one in another bucket", rt.Len())
	}
	rt.Seen(protocol.Contact{ID: idAt(self, 3, 50), Addr: loopback(3, 5000)})
	if rt.Contains(idAt(self, 3, 50)) {
		t.Fatal("a sixth loopback contact joined a bucket already past the limit")
	}
	rt.SetSubnetLimitsEverywhere(false)
	rt.Seen(protocol.Contact{ID: idAt(self, 3, 51), Addr: loopback(3, 5001)})
	if !rt.Contains(idAt(self, 3, 51)) {
		t.Fatal("limits turned off, a loopback contact is still refused")
	}
}

func TestAddrRuleEverywhere(t *testing.T) {
	rule := AddrRule{Everywhere: true}
	tests := []struct {
		addr   string
		subnet string // "" when exempt
	}{
		{"127.0.0.1:4000", "127.0.0.0/24"},
		{"[::1]:4000", "::/64"},
		{"10.1.2.3:4000", "10.1.2.0/24"},
		{"[fe80::1]:4000", "fe80::/64"},
		{"[::ffff:192.168.0.9]:4000", "192.168.0.0/24"},
		{"0.0.0.0:4000", ""},
		{"[::]:4000", ""},
		{"198.51.100.7:4000", "198.51.100.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tt.addr)
			if got := rule.Exempt(ap.Addr()); got != (tt.subnet == "") {
				t.Errorf("Exempt = %v, want %v", got, tt.subnet == "")
			}
			p, ok := rule.Subnet(ap)
			if ok != (tt.subnet != "") || (ok && p.String() != tt.subnet) {
				t.Errorf("Subnet = %v, %v; want %q", p, ok, tt.subnet)
			}
		})
	}
}

// TestRTTEstimates: a contact's round trips are smoothed as RFC 6298 §2 says, computed
// here by its formulas in floating point.
func TestRTTEstimates(t *testing.T) {
	self := protocol.ID{}
	tb := NewTable(self, 20)
	c := protocol.Contact{ID: protocol.ID{0x80}, Addr: netip.MustParseAddrPort("192.0.2.1:4000")}
	if _, _, ok := tb.RTT(c.ID); ok {
		t.Fatal("an unknown contact has an RTT")
	}
	tb.Seen(c) // heard from, never timed
	if _, _, ok := tb.RTT(c.ID); ok {
		t.Fatal("a contact never timed has an RTT")
	}
	var srtt, rttvar float64
	for i, ms := range []float64{100, 140, 60, 300, 100, 100, 100} {
		r := ms * 1000 // µs
		if i == 0 {
			srtt, rttvar = r, r/2
		} else {
			rttvar = 0.75*rttvar + 0.25*math.Abs(srtt-r)
			srtt = 0.875*srtt + 0.125*r
		}
		tb.SeenRTT(c, time.Duration(ms*float64(time.Millisecond)))
		gotS, gotV, ok := tb.RTT(c.ID)
		if !ok {
			t.Fatalf("sample %d: no RTT", i)
		}
		if d := math.Abs(float64(gotS.Microseconds()) - srtt); d > 2 {
			t.Errorf("sample %d: srtt %v, want %.0fµs", i, gotS, srtt)
		}
		if d := math.Abs(float64(gotV.Microseconds()) - rttvar); d > 2 {
			t.Errorf("sample %d: rttvar %v, want %.0fµs", i, gotV, rttvar)
		}
	}
}

// timedBucket returns a table of bucket size k whose bucket prefix holds k contacts,
// each timed at the round trip rtts gives it.
func timedBucket(t *testing.T, prefix int, rtts ...time.Duration) (*Table, protocol.ID, []protocol.Contact) {
	t.Helper()
	self := protocol.ID{0x55}
	rt := NewTable(self, len(rtts))
	var cs []protocol.Contact
	for i, rtt := range rtts {
		c := protocol.Contact{ID: idAt(self, prefix, uint16(i)), Addr: addrN(i)}
		cs = append(cs, c)
		if res := rt.SeenRTT(c, rtt); !res.Added {
			t.Fatalf("contact %d: got %+v, want added", i, res)
		}
	}
	return rt, self, cs
}

// TestTableProximity: a newcomer that answers at most half as slowly as a full bucket's
// slowest timed contact, by 10 ms or more, takes its place, and the one displaced waits
// as a replacement; no more than half of a bucket enters that way; contacts never timed,
// and gains too small, change nothing.
func TestTableProximity(t *testing.T) {
	ms := time.Millisecond
	rt, self, cs := timedBucket(t, 2, 100*ms, 300*ms, 120*ms, 200*ms)
	newcomer := func(n int) protocol.Contact {
		return protocol.Contact{ID: idAt(self, 2, uint16(100+n)), Addr: addrN(100 + n)}
	}
	// 160 ms is not half of 300 ms: no change.
	if res := rt.SeenRTT(newcomer(0), 160*ms); res.Added || rt.Contains(newcomer(0).ID) {
		t.Fatalf("a newcomer not twice as fast entered: %+v", res)
	}
	// 20 ms displaces the slowest, 300 ms.
	if res := rt.SeenRTT(newcomer(1), 20*ms); !res.Added || !rt.Contains(newcomer(1).ID) || rt.Contains(cs[1].ID) {
		t.Fatalf("a newcomer 15 times faster: %+v; in table %v, slowest still in %v", res,
			rt.Contains(newcomer(1).ID), rt.Contains(cs[1].ID))
	}
	if got, ok := rttOf(rt, newcomer(1)); !ok || got != 20*ms {
		t.Errorf("newcomer's SRTT %v %v, want its sample 20ms", got, ok)
	}
	// 30 ms displaces 200 ms: half the bucket (2 of 4) has now entered by speed.
	rt.SeenRTT(newcomer(2), 30*ms)
	if !rt.Contains(newcomer(2).ID) || rt.Contains(cs[3].ID) {
		t.Fatal("a second fast newcomer did not displace the 200 ms contact")
	}
	// A third would pass half: it may only displace one of the fast two, the 30 ms one,
	// and 25 ms is not twice as fast.
	if res := rt.SeenRTT(newcomer(3), 25*ms); res.Added {
		t.Fatalf("a third fast newcomer entered against 120 ms while half the bucket came by speed: %+v", res)
	}
	if !rt.Contains(cs[0].ID) || !rt.Contains(cs[2].ID) {
		t.Fatal("a contact that entered by age was displaced once half the bucket came by speed")
	}
	// 5 ms is 6 times faster than the fast 30 ms one, and 25 ms less: it takes its place.
	if res := rt.SeenRTT(newcomer(4), 5*ms); !res.Added || rt.Contains(newcomer(2).ID) {
		t.Fatalf("a newcomer much faster than a fast contact: %+v, 30 ms one still in %v", res, rt.Contains(newcomer(2).ID))
	}
	// The displaced one is alive, and the most recent replacement: it comes back first
	// when a contact fails.
	rt.Failed(newcomer(1))
	if !rt.Contains(newcomer(2).ID) || rt.Len() != 4 {
		t.Fatalf("after a failure: the displaced 30 ms contact in the table %v, %d contacts; want it back, 4",
			rt.Contains(newcomer(2).ID), rt.Len())
	}

	// Gains under pnsMinGain do not count: 1 ms against 8 ms.
	rt, self, _ = timedBucket(t, 2, 8*ms, 8*ms)
	near := protocol.Contact{ID: idAt(self, 2, 50), Addr: addrN(50)}
	if res := rt.SeenRTT(near, ms); res.Added {
		t.Fatalf("a newcomer 7 ms faster entered: %+v", res)
	}

	// Contacts never timed are never displaced.
	rt, self, _ = fullBucket(t, 4, 2)
	if res := rt.SeenRTT(protocol.Contact{ID: idAt(self, 2, 50), Addr: addrN(50)}, ms); res.Added {
		t.Fatalf("a fast newcomer displaced a contact never timed: %+v", res)
	}
}

func rttOf(rt *Table, c protocol.Contact) (time.Duration, bool) {
	srtt, _, ok := rt.RTT(c.ID)
	return srtt, ok
}
