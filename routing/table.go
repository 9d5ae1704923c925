package routing

import (
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"

	"kad/protocol"
)

// livenessWindow is how recently a bucket's least-recently seen contact must have been
// heard from to count as alive without a ping: a full bucket that meets a newcomer pings
// its oldest contact only if that one has been silent longer. Without it a busy node
// would ping on almost every message from outside its full buckets.
const livenessWindow = time.Minute

// maxFails is how many RPCs in a row a contact may fail before it is dropped even when
// no replacement waits (paper §4.1 suggests five).
const maxFails = 5

// Table is a node's routing table: its contacts in IDBits k-buckets indexed by the length of the
// common prefix with the node's own ID (paper §2.2). Each bucket is ordered least-recently
// seen first and has a replacement cache of contacts that did not fit (paper §4.1).
// Up to half of a full bucket may be taken by contacts that answered much faster than
// the ones they displaced (SeenRTT), so that lookups go through near hosts.
// It is safe for concurrent use; one mutex guards all of it, and no method blocks on I/O.
type Table struct {
	self protocol.ID
	k    int
	// At most perBucket contacts of a bucket and perTable of the table may share a
	// public subnet (/24 for IPv4, /64 for IPv6), so that one host or network cannot fill
	// the table (an eclipse attack). Negative: no limit.
	perBucket, perTable int
	// rule says which addresses the subnet limits spare.
	rule AddrRule

	// epoch is when the table was made: its times are nanoseconds since then, which keeps
	// their monotonic clock reading in eight bytes.
	epoch time.Time

	mu sync.Mutex
	// buckets[i] holds the contacts sharing i leading bits with self. It grows to the
	// deepest bucket used: of the IDBits possible, a node in a network of N uses about
	// log2(N/k) + a few, and the empty ones beyond cost nothing.
	buckets []bucket
	size    int
	subnets map[netip.Prefix]int // contacts per public subnet, over the whole table
}

// Default limits on contacts sharing a public subnet; see Table.
const (
	DefaultMaxPerSubnetBucket = 2
	DefaultMaxPerSubnetTable  = 10
)

// SetSubnetLimits sets how many contacts of one bucket and of the whole table may share a
// public subnet; a negative value means no limit. It applies to contacts added later.
func (t *Table) SetSubnetLimits(perBucket, perTable int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.perBucket, t.perTable = perBucket, perTable
}

// SetSubnetLimitsEverywhere applies the subnet limits to loopback, private and
// link-local addresses too (AddrRule.Everywhere), or stops doing so. The contacts already
// held are counted again under the new rule; none is dropped.
func (t *Table) SetSubnetLimitsEverywhere(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rule = AddrRule{Everywhere: on}
	clear(t.subnets)
	for i := range t.buckets {
		for _, e := range t.buckets[i].entries {
			if p, ok := t.rule.Subnet(e.Addr); ok {
				t.subnets[p]++
			}
		}
	}
}

// admits reports whether c may join b without passing a subnet limit. t.mu is held.
func (t *Table) admits(b *bucket, c protocol.Contact) bool {
	p, ok := t.rule.Subnet(c.Addr)
	if !ok {
		return true
	}
	if t.perTable >= 0 && t.subnets[p] >= t.perTable {
		return false
	}
	if t.perBucket >= 0 {
		n := 0
		for i := range b.entries {
			if q, ok := t.rule.Subnet(b.entries[i].Addr); ok && q == p {
				n++
			}
		}
		if n >= t.perBucket {
			return false
		}
	}
	return true
}

// addEntry appends e to b and counts it. t.mu is held.
func (t *Table) addEntry(b *bucket, e entry) {
	b.entries = appendEntry(b.entries, e, t.k)
	t.size++
	if p, ok := t.rule.Subnet(e.Addr); ok {
		t.subnets[p]++
	}
}

// removeEntry deletes b.entries[i] and uncounts it. t.mu is held.
func (t *Table) removeEntry(b *bucket, i int) {
	if p, ok := t.rule.Subnet(b.entries[i].Addr); ok {
		if t.subnets[p]--; t.subnets[p] <= 0 {
			delete(t.subnets, p)
		}
	}
	b.entries = slices.Delete(b.entries, i, i+1)
	t.size--
}

type bucket struct {
	entries      []entry // least-recently seen first
	replacements []entry // most recently seen last, at most k
	lastLookup   int64   // table time of the last lookup into the bucket; never: none
	pinging      bool    // a liveness check of entries[0] is under way
}

// never is the table time of what has not happened.
const never = math.MinInt64

type entry struct {
	protocol.Contact
	fails uint32
	// fast is set on a contact that took the place of a slower one (SeenRTT); at most
	// half of a bucket's contacts may have.
	fast     bool
	lastSeen int64 // table time
	// srtt and rttvar are the contact's smoothed round-trip time and its variation, in
	// microseconds (RFC 6298 §2); srtt 0: no sample yet.
	srtt, rttvar uint32
}

// appendEntry appends e to s, growing its array at most to k entries, which a bucket
// and its replacement cache never pass: append's doubling would leave a full bucket of
// 20 in an array of 32.
func appendEntry(s []entry, e entry, k int) []entry {
	if len(s) == cap(s) {
		grown := make([]entry, len(s), max(min(2*cap(s), k), len(s)+1, 2))
		copy(grown, s)
		s = grown
	}
	return append(s, e)
}

// at returns now in table time.
func (t *Table) at(now time.Time) int64 { return int64(now.Sub(t.epoch)) }

// NewTable returns an empty table for a node with ID self and bucket size k, with the
// default subnet limits.
func NewTable(self protocol.ID, k int) *Table {
	return &Table{self: self, k: k, perBucket: DefaultMaxPerSubnetBucket,
		perTable: DefaultMaxPerSubnetTable, subnets: make(map[netip.Prefix]int), epoch: time.Now()}
}

// SeenResult tells the caller of Seen what happened and what it must do.
type SeenResult struct {
	// Added is true when the contact entered the table.
	Added bool
	// Ping, when its ID is not zero, is the least-recently seen contact of a full bucket
	// that the caller must check: send it a PING and report the outcome with PingDone,
	// or, if the check cannot be sent, with PingDropped. Until then the bucket asks for
	// no other check.
	Ping protocol.Contact
}

// Seen records that c was heard from. A known contact moves to the tail of its bucket; a
// new one is appended if the bucket has room, else it waits in the replacement cache and
// the bucket's least-recently seen contact is returned for a liveness check. A contact
// whose ID is known under another address stays as it is: the new address only becomes a
// replacement, so an unverified claim cannot move a live contact.
func (t *Table) Seen(c protocol.Contact) SeenResult {
	return t.seen(c, 0)
}

// Proximity neighbour selection: a contact that answers faster than a bucket's slowest
// takes its place (SeenRTT), so that lookups start with near contacts and each hop's
// contacts are near the one before. The gain must be worth a change: the newcomer at
// most half the slowest's SRTT, and pnsMinGain less.
const pnsMinGain = 10 * time.Millisecond

// SeenRTT is Seen for a contact that answered a request of this node's after rtt at the
// address it was called at. Its round-trip estimates take the sample, as RFC 6298 §2
// says: the first sample R sets SRTT to R and RTTVAR to R/2; later ones set RTTVAR to
// 3/4 RTTVAR + 1/4 |SRTT - R|, then SRTT to 7/8 SRTT + 1/8 R. A new contact that
// finds its bucket full takes the place of the bucket's slowest timed contact if it is
// at most half as slow, and by pnsMinGain; the one it displaces, alive, waits in the
// replacement cache. At most half of a bucket's contacts may have entered that way,
// unless the one displaced did too: the others keep the paper's preference for contacts
// seen longest (§2.2), so that near hosts, such as an attacker's, cannot take a bucket.
func (t *Table) SeenRTT(c protocol.Contact, rtt time.Duration) SeenResult {
	return t.seen(c, max(rtt, time.Microsecond))
}

// seen is Seen, and with rtt > 0 SeenRTT.
func (t *Table) seen(c protocol.Contact, rtt time.Duration) SeenResult {
	if c.ID == t.self {
		return SeenResult{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.at(time.Now())
	b := t.grow(t.self.CommonPrefixLen(c.ID))
	if i := b.index(c.ID); i >= 0 {
		e := b.entries[i]
		if e.Addr != c.Addr {
			b.addReplacement(entry{Contact: c}, t.k)
			return SeenResult{}
		}
		e.fails, e.lastSeen = 0, now
		if rtt > 0 {
			e.srtt, e.rttvar = SmoothRTT(e.srtt, e.rttvar, rtt)
		}
		copy(b.entries[i:], b.entries[i+1:])
		b.entries[len(b.entries)-1] = e
		return SeenResult{}
	}
	if !t.admits(b, c) {
		return SeenResult{}
	}
	e := entry{Contact: c, lastSeen: now}
	if rtt > 0 {
		e.srtt, e.rttvar = SmoothRTT(0, 0, rtt)
	}
	if len(b.entries) < t.k {
		t.addEntry(b, e)
		b.removeReplacement(c.ID)
		return SeenResult{Added: true}
	}
	if rtt > 0 {
		if i := t.slowest(b, e.srtt); i >= 0 {
			slow := b.entries[i]
			t.removeEntry(b, i)
			b.removeReplacement(c.ID)
			slow.fast = false
			b.addReplacement(slow, t.k)
			e.fast = true
			t.addEntry(b, e)
			return SeenResult{Added: true}
		}
	}
	b.addReplacement(e, t.k)
	if b.pinging || now-b.entries[0].lastSeen < int64(livenessWindow) {
		return SeenResult{}
	}
	b.pinging = true
	return SeenResult{Ping: b.entries[0].Contact}
}

// slowest returns the index of the contact of the full bucket b that a newcomer with
// SRTT srtt (microseconds) displaces, or -1 for none (SeenRTT): the slowest timed one,
// or, once half of b entered by displacing another, the slowest of those. t.mu is held.
func (t *Table) slowest(b *bucket, srtt uint32) int {
	fast := 0
	for i := range b.entries {
		if b.entries[i].fast {
			fast++
		}
	}
	onlyFast := 2*(fast+1) > t.k
	slow := -1
	for i := range b.entries {
		e := &b.entries[i]
		if e.srtt != 0 && (e.fast || !onlyFast) && (slow < 0 || e.srtt > b.entries[slow].srtt) {
			slow = i
		}
	}
	if slow < 0 {
		return -1
	}
	s := b.entries[slow].srtt
	if s < 2*srtt || time.Duration(s-min(srtt, s))*time.Microsecond < pnsMinGain {
		return -1
	}
	return slow
}

// PingDone ends the liveness check Seen asked for: alive moves c to the tail of its
// bucket, as if heard from now; dead evicts it in favour of the most recent replacement.
func (t *Table) PingDone(c protocol.Contact, alive bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketFor(c.ID)
	if b == nil {
		return
	}
	b.pinging = false
	i := b.index(c.ID)
	if i < 0 {
		return
	}
	if alive {
		e := b.entries[i]
		e.fails, e.lastSeen = 0, t.at(time.Now())
		copy(b.entries[i:], b.entries[i+1:])
		b.entries[len(b.entries)-1] = e
		return
	}
	t.evict(b, i)
}

// PingDropped ends a liveness check Seen asked for that was never sent (the caller's
// queue of checks was full): c stays as it was, neither refreshed nor counted as failed,
// and the bucket asks for a check again on the next contact it cannot admit.
func (t *Table) PingDropped(c protocol.Contact) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.bucketFor(c.ID); b != nil {
		b.pinging = false
	}
}

// Failed records that c did not answer an RPC at c.Addr. It is evicted at once if a
// replacement waits, or after maxFails failures in a row. It reports whether c is still
// in the table (Failing from then on). A failure at another address than the table's
// (or the replacement cache's) for c.ID counts for nothing: anyone can name an ID at an
// address that does not answer, and that must not push the ID's node out.
func (t *Table) Failed(c protocol.Contact) (kept bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketFor(c.ID)
	if b == nil {
		return false
	}
	i := b.index(c.ID)
	if i < 0 {
		if j := b.replacementIndex(c.ID); j >= 0 && b.replacements[j].Addr == c.Addr {
			b.replacements = slices.Delete(b.replacements, j, j+1)
		}
		return false
	}
	if b.entries[i].Addr != c.Addr {
		return false
	}
	b.entries[i].fails++
	if len(b.replacements) > 0 || b.entries[i].fails >= maxFails {
		t.evict(b, i)
		return false
	}
	return true
}

// Failing reports whether c is in the table at c.Addr and its last RPC failed.
func (t *Table) Failing(c protocol.Contact) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryOf(c.ID)
	return e != nil && e.Addr == c.Addr && e.fails > 0
}

// entryOf returns the table's entry of the contact id, or nil. t.mu is held.
func (t *Table) entryOf(id protocol.ID) *entry {
	b := t.bucketFor(id)
	if b == nil {
		return nil
	}
	if i := b.index(id); i >= 0 {
		return &b.entries[i]
	}
	return nil
}

// SmoothRTT returns the estimates srtt and rttvar (microseconds; srtt 0 for none yet)
// after a sample rtt, by RFC 6298 §2.
func SmoothRTT(srtt, rttvar uint32, rtt time.Duration) (uint32, uint32) {
	r := uint32(min(max(rtt.Microseconds(), 1), math.MaxUint32/8))
	if srtt == 0 {
		return r, r / 2
	}
	diff := int64(srtt) - int64(r)
	if diff < 0 {
		diff = -diff
	}
	rttvar = uint32((3*int64(rttvar) + diff) / 4)
	srtt = uint32((7*int64(srtt) + int64(r)) / 8)
	return max(srtt, 1), rttvar
}

// RTT returns the contact id's smoothed round-trip time and its variation, and whether
// it has any: none for a contact not in the table, or never timed.
func (t *Table) RTT(id protocol.ID) (srtt, rttvar time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryOf(id)
	if e == nil || e.srtt == 0 {
		return 0, 0, false
	}
	return time.Duration(e.srtt) * time.Microsecond, time.Duration(e.rttvar) * time.Microsecond, true
}

// evict removes entries[i] and promotes the most recently seen replacement. t.mu is held.
func (t *Table) evict(b *bucket, i int) {
	t.removeEntry(b, i)
	for n := len(b.replacements); n > 0; n-- {
		r := b.replacements[n-1]
		b.replacements = b.replacements[:n-1]
		// A replacement may be a known contact's other address: never list an ID twice.
		if b.index(r.ID) < 0 && t.admits(b, r.Contact) {
			r.fails = 0
			t.addEntry(b, r)
			return
		}
	}
}

// Remove deletes the contact with this ID, if present.
func (t *Table) Remove(id protocol.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketFor(id)
	if b == nil {
		return
	}
	if i := b.index(id); i >= 0 {
		t.removeEntry(b, i)
	}
	b.removeReplacement(id)
}

// Len returns the number of contacts in the table (replacements not counted).
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.size
}

// Contains reports whether the table holds a contact with this ID.
func (t *Table) Contains(id protocol.ID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketFor(id)
	return b != nil && b.index(id) >= 0
}

// ContainsAt reports whether the table holds c: its ID at its address.
func (t *Table) ContainsAt(c protocol.Contact) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketFor(c.ID)
	if b == nil {
		return false
	}
	i := b.index(c.ID)
	return i >= 0 && b.entries[i].Addr == c.Addr
}

// Wants reports whether Seen(c) would add c to the table now: its ID is not in the table,
// and its bucket has room for it within the subnet limits. A node asks an unproven
// contact to prove its address only when the answer would change something.
func (t *Table) Wants(c protocol.Contact) bool {
	if c.ID == t.self {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketFor(c.ID)
	if b == nil {
		return t.admits(&bucket{}, c) // a bucket not grown yet is empty
	}
	return b.index(c.ID) < 0 && len(b.entries) < t.k && t.admits(b, c)
}

// Closest returns up to n contacts closest to target, closest first.
func (t *Table) Closest(target protocol.ID, n int) []protocol.Contact {
	return t.AppendClosest(make([]protocol.Contact, 0, n), target, n)
}

// AppendClosest appends up to n contacts closest to target to dst, closest first.
//
// Contacts in bucket i differ from self first at bit i, so their distance to target shares
// target's prefix with self up to that bit. The bucket target falls in holds the closest
// contacts; all deeper buckets (longer prefix shared with self) come next, their contacts
// differing from target at bit cpl and nowhere before; then shallower buckets, each
// farther than the one after it. Once n are gathered from a group, later groups cannot
// hold closer ones. Within what is gathered, an insertion into a sorted window of n keeps
// the closest: no sort of the whole table, and no allocation beyond dst's growth.
func (t *Table) AppendClosest(dst []protocol.Contact, target protocol.ID, n int) []protocol.Contact {
	return t.appendClosest(dst, target, n, false)
}

// AppendClosestLive is AppendClosest without the contacts whose last RPC failed: what a
// node recommends to others, so that departed nodes stop spreading through FIND_NODE
// replies before they leave the table.
func (t *Table) AppendClosestLive(dst []protocol.Contact, target protocol.ID, n int) []protocol.Contact {
	return t.appendClosest(dst, target, n, true)
}

func (t *Table) appendClosest(dst []protocol.Contact, target protocol.ID, n int, liveOnly bool) []protocol.Contact {
	if n <= 0 {
		return dst
	}
	dst = slices.Grow(dst, n)
	start := len(dst)
	t.mu.Lock()
	defer t.mu.Unlock()
	cpl := t.self.CommonPrefixLen(target)
	if cpl == protocol.IDBits {
		cpl = protocol.IDBits - 1
	}
	if cpl < len(t.buckets) {
		dst = insertBucket(dst, start, n, target, &t.buckets[cpl], liveOnly)
	}
	if len(dst)-start < n {
		for i := cpl + 1; i < len(t.buckets); i++ {
			dst = insertBucket(dst, start, n, target, &t.buckets[i], liveOnly)
		}
	}
	for i := min(cpl, len(t.buckets)) - 1; i >= 0 && len(dst)-start < n; i-- {
		dst = insertBucket(dst, start, n, target, &t.buckets[i], liveOnly)
	}
	return dst
}

// insertBucket inserts b's contacts into the sorted window dst[start:], kept at most n long.
func insertBucket(dst []protocol.Contact, start, n int, target protocol.ID, b *bucket, liveOnly bool) []protocol.Contact {
	for i := range b.entries {
		if liveOnly && b.entries[i].fails > 0 {
			continue
		}
		c := b.entries[i].Contact
		w := dst[start:]
		if len(w) == n {
			if target.CmpDistance(c.ID, w[n-1].ID) >= 0 {
				continue
			}
			dst = dst[:len(dst)-1] // drop the farthest
			w = w[:n-1]
		}
		j := len(w)
		for j > 0 && target.CmpDistance(c.ID, w[j-1].ID) < 0 {
			j--
		}
		dst = slices.Insert(dst, start+j, c)
	}
	return dst
}

// All returns every contact, in bucket order.
func (t *Table) All() []protocol.Contact {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]protocol.Contact, 0, t.size)
	for i := range t.buckets {
		for _, e := range t.buckets[i].entries {
			out = append(out, e.Contact)
		}
	}
	return out
}

// Touch records that a lookup for target took place at now, in the bucket target falls
// in (paper §2.3: a bucket that saw no lookup within tRefresh is refreshed).
func (t *Table) Touch(target protocol.ID, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := t.self.CommonPrefixLen(target); i < protocol.IDBits {
		t.grow(i).lastLookup = t.at(now)
	}
}

// StaleBuckets returns the indexes of buckets up to maxIndex with no lookup since before.
func (t *Table) StaleBuckets(before time.Time, maxIndex int) []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int
	at := t.at(before)
	for i := 0; i <= maxIndex && i < protocol.IDBits; i++ {
		if i >= len(t.buckets) || t.buckets[i].lastLookup < at {
			out = append(out, i)
		}
	}
	return out
}

// bucketFor returns the bucket id belongs in, or nil for the node's own ID and for a
// bucket not grown yet, which is empty. t.mu is held.
func (t *Table) bucketFor(id protocol.ID) *bucket {
	i := t.self.CommonPrefixLen(id)
	if i >= len(t.buckets) {
		return nil
	}
	return &t.buckets[i]
}

// grow returns bucket i (< IDBits), adding the empty buckets up to it. t.mu is held.
func (t *Table) grow(i int) *bucket {
	for len(t.buckets) <= i {
		t.buckets = append(t.buckets, bucket{lastLookup: never})
	}
	return &t.buckets[i]
}

func (b *bucket) index(id protocol.ID) int {
	for i := range b.entries {
		if b.entries[i].ID == id {
			return i
		}
	}
	return -1
}

func (b *bucket) addReplacement(e entry, k int) {
	b.removeReplacement(e.ID)
	if len(b.replacements) >= k {
		b.replacements = slices.Delete(b.replacements, 0, 1)
	}
	b.replacements = appendEntry(b.replacements, e, k)
}

func (b *bucket) removeReplacement(id protocol.ID) {
	if i := b.replacementIndex(id); i >= 0 {
		b.replacements = slices.Delete(b.replacements, i, i+1)
	}
}

// replacementIndex returns the index of id among the replacements, or -1.
func (b *bucket) replacementIndex(id protocol.ID) int {
	for i := range b.replacements {
		if b.replacements[i].ID == id {
			return i
		}
	}
	return -1
}
