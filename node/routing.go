package node

import (
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

// RoutingTable holds the node's contacts in IDBits k-buckets indexed by the length of the
// common prefix with the node's own ID (paper §2.2). Each bucket is ordered least-recently
// seen first and has a replacement cache of contacts that did not fit (paper §4.1).
// It is safe for concurrent use; one mutex guards all of it, and no method blocks on I/O.
type RoutingTable struct {
	self protocol.ID
	k    int
	// At most perBucket contacts of a bucket and perTable of the table may share a
	// public subnet (/24 for IPv4, /64 for IPv6), so that one host or network cannot fill
	// the table (an eclipse attack). Negative: no limit.
	perBucket, perTable int

	mu      sync.Mutex
	buckets [protocol.IDBits]bucket
	size    int
	subnets map[netip.Prefix]int // contacts per public subnet, over the whole table
}

// Default limits on contacts sharing a public subnet; see RoutingTable.
const (
	DefaultMaxPerSubnetBucket = 2
	DefaultMaxPerSubnetTable  = 10
)

// subnetOf returns the subnet an address counts against, or false for addresses that are
// exempt: loopback, private and link-local ones, where every node of a test cluster or a
// LAN shares one network.
func subnetOf(ap netip.AddrPort) (netip.Prefix, bool) {
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
		return netip.Prefix{}, false
	}
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// SetSubnetLimits sets how many contacts of one bucket and of the whole table may share a
// public subnet; a negative value means no limit. It applies to contacts added later.
func (rt *RoutingTable) SetSubnetLimits(perBucket, perTable int) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.perBucket, rt.perTable = perBucket, perTable
}

// admits reports whether c may join b without passing a subnet limit. rt.mu is held.
func (rt *RoutingTable) admits(b *bucket, c protocol.Contact) bool {
	p, ok := subnetOf(c.Addr)
	if !ok {
		return true
	}
	if rt.perTable >= 0 && rt.subnets[p] >= rt.perTable {
		return false
	}
	if rt.perBucket >= 0 {
		n := 0
		for i := range b.entries {
			if q, ok := subnetOf(b.entries[i].Addr); ok && q == p {
				n++
			}
		}
		if n >= rt.perBucket {
			return false
		}
	}
	return true
}

// addEntry appends e to b and counts it. rt.mu is held.
func (rt *RoutingTable) addEntry(b *bucket, e entry) {
	b.entries = append(b.entries, e)
	rt.size++
	if p, ok := subnetOf(e.Addr); ok {
		rt.subnets[p]++
	}
}

// removeEntry deletes b.entries[i] and uncounts it. rt.mu is held.
func (rt *RoutingTable) removeEntry(b *bucket, i int) {
	if p, ok := subnetOf(b.entries[i].Addr); ok {
		if rt.subnets[p]--; rt.subnets[p] <= 0 {
			delete(rt.subnets, p)
		}
	}
	b.entries = slices.Delete(b.entries, i, i+1)
	rt.size--
}

type bucket struct {
	entries      []entry // least-recently seen first
	replacements []entry // most recently seen last, at most k
	pinging      bool    // a liveness check of entries[0] is under way
	lastLookup   time.Time
}

type entry struct {
	protocol.Contact
	fails    int
	lastSeen time.Time
}

// NewRoutingTable returns an empty table for a node with ID self and bucket size k.
func NewRoutingTable(self protocol.ID, k int) *RoutingTable {
	return &RoutingTable{self: self, k: k, perBucket: DefaultMaxPerSubnetBucket,
		perTable: DefaultMaxPerSubnetTable, subnets: make(map[netip.Prefix]int)}
}

// seenResult tells the caller what a Seen call needs from it.
type seenResult struct {
	added bool
	// ping, when valid, is the least-recently seen contact of a full bucket: the caller
	// should ping it and report the outcome with Seen or Failed.
	ping protocol.Contact
}

// Seen records that c was heard from. A known contact moves to the tail of its bucket; a
// new one is appended if the bucket has room, else it waits in the replacement cache and
// the bucket's least-recently seen contact is returned for a liveness check. A contact
// whose ID is known under another address stays as it is: the new address only becomes a
// replacement, so an unverified claim cannot move a live contact.
func (rt *RoutingTable) Seen(c protocol.Contact) seenResult {
	if c.ID == rt.self {
		return seenResult{}
	}
	now := time.Now()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := rt.bucketFor(c.ID)
	if i := b.index(c.ID); i >= 0 {
		e := b.entries[i]
		if e.Addr != c.Addr {
			b.addReplacement(entry{Contact: c}, rt.k)
			return seenResult{}
		}
		e.fails, e.lastSeen = 0, now
		copy(b.entries[i:], b.entries[i+1:])
		b.entries[len(b.entries)-1] = e
		return seenResult{}
	}
	if !rt.admits(b, c) {
		return seenResult{}
	}
	if len(b.entries) < rt.k {
		rt.addEntry(b, entry{Contact: c, lastSeen: now})
		b.removeReplacement(c.ID)
		return seenResult{added: true}
	}
	b.addReplacement(entry{Contact: c, lastSeen: now}, rt.k)
	if b.pinging || now.Sub(b.entries[0].lastSeen) < livenessWindow {
		return seenResult{}
	}
	b.pinging = true
	return seenResult{ping: b.entries[0].Contact}
}

// PingDone ends the liveness check of a bucket's oldest contact: alive moves it to the
// tail; dead evicts it in favour of the most recent replacement.
func (rt *RoutingTable) PingDone(c protocol.Contact, alive bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := rt.bucketFor(c.ID)
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
		e.fails, e.lastSeen = 0, time.Now()
		copy(b.entries[i:], b.entries[i+1:])
		b.entries[len(b.entries)-1] = e
		return
	}
	rt.evict(b, i)
}

// Failed records that c did not answer an RPC. It is evicted at once if a replacement
// waits, or after maxFails failures in a row.
func (rt *RoutingTable) Failed(id protocol.ID) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := rt.bucketFor(id)
	if b == nil {
		return
	}
	i := b.index(id)
	if i < 0 {
		b.removeReplacement(id)
		return
	}
	b.entries[i].fails++
	if len(b.replacements) > 0 || b.entries[i].fails >= maxFails {
		rt.evict(b, i)
	}
}

// evict removes entries[i] and promotes the most recently seen replacement. rt.mu is held.
func (rt *RoutingTable) evict(b *bucket, i int) {
	rt.removeEntry(b, i)
	for n := len(b.replacements); n > 0; n-- {
		r := b.replacements[n-1]
		b.replacements = b.replacements[:n-1]
		// A replacement may be a known contact's other address: never list an ID twice.
		if b.index(r.ID) < 0 && rt.admits(b, r.Contact) {
			r.fails = 0
			rt.addEntry(b, r)
			return
		}
	}
}

// Remove deletes the contact with this ID, if present.
func (rt *RoutingTable) Remove(id protocol.ID) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := rt.bucketFor(id)
	if b == nil {
		return
	}
	if i := b.index(id); i >= 0 {
		rt.removeEntry(b, i)
	}
	b.removeReplacement(id)
}

// Len returns the number of contacts in the table (replacements not counted).
func (rt *RoutingTable) Len() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.size
}

// Contains reports whether the table holds a contact with this ID.
func (rt *RoutingTable) Contains(id protocol.ID) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := rt.bucketFor(id)
	return b != nil && b.index(id) >= 0
}

// Closest returns up to n contacts closest to target, closest first.
func (rt *RoutingTable) Closest(target protocol.ID, n int) []protocol.Contact {
	return rt.AppendClosest(make([]protocol.Contact, 0, n), target, n)
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
func (rt *RoutingTable) AppendClosest(dst []protocol.Contact, target protocol.ID, n int) []protocol.Contact {
	return rt.appendClosest(dst, target, n, false)
}

// AppendClosestLive is AppendClosest without the contacts whose last RPC failed: what a
// node recommends to others, so that departed nodes stop spreading through FIND_NODE
// replies before they leave the table.
func (rt *RoutingTable) AppendClosestLive(dst []protocol.Contact, target protocol.ID, n int) []protocol.Contact {
	return rt.appendClosest(dst, target, n, true)
}

func (rt *RoutingTable) appendClosest(dst []protocol.Contact, target protocol.ID, n int, liveOnly bool) []protocol.Contact {
	if n <= 0 {
		return dst
	}
	dst = slices.Grow(dst, n)
	start := len(dst)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	cpl := rt.self.CommonPrefixLen(target)
	if cpl == protocol.IDBits {
		cpl = protocol.IDBits - 1
	}
	dst = insertBucket(dst, start, n, target, &rt.buckets[cpl], liveOnly)
	if len(dst)-start < n {
		for i := cpl + 1; i < protocol.IDBits; i++ {
			dst = insertBucket(dst, start, n, target, &rt.buckets[i], liveOnly)
		}
	}
	for i := cpl - 1; i >= 0 && len(dst)-start < n; i-- {
		dst = insertBucket(dst, start, n, target, &rt.buckets[i], liveOnly)
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
func (rt *RoutingTable) All() []protocol.Contact {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]protocol.Contact, 0, rt.size)
	for i := range rt.buckets {
		for _, e := range rt.buckets[i].entries {
			out = append(out, e.Contact)
		}
	}
	return out
}

// Touch records that a lookup for an ID in bucket i took place (paper §2.3: a bucket that
// saw no lookup within tRefresh is refreshed).
func (rt *RoutingTable) Touch(target protocol.ID, now time.Time) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	i := rt.self.CommonPrefixLen(target)
	if i < protocol.IDBits {
		rt.buckets[i].lastLookup = now
	}
}

// StaleBuckets returns the indexes of buckets up to maxIndex with no lookup since before.
func (rt *RoutingTable) StaleBuckets(before time.Time, maxIndex int) []int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []int
	for i := 0; i <= maxIndex && i < protocol.IDBits; i++ {
		if rt.buckets[i].lastLookup.Before(before) {
			out = append(out, i)
		}
	}
	return out
}

// bucketFor returns the bucket id belongs in, or nil for the node's own ID. rt.mu is held.
func (rt *RoutingTable) bucketFor(id protocol.ID) *bucket {
	i := rt.self.CommonPrefixLen(id)
	if i == protocol.IDBits {
		return nil
	}
	return &rt.buckets[i]
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
	b.replacements = append(b.replacements, e)
}

func (b *bucket) removeReplacement(id protocol.ID) {
	for i := range b.replacements {
		if b.replacements[i].ID == id {
			b.replacements = slices.Delete(b.replacements, i, i+1)
			return
		}
	}
}
