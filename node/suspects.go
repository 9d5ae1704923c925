package node

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"kad/protocol"
)

// Suspects. A contact that did not answer this node's last request to it is a suspect
// until it is heard from again, or for suspectTTL: a lookup asks it only when the
// contacts not suspected are too few to fill its result (lookupParams.suspect). So
// once a node has timed out on a dead contact, its later lookups do not wait on it
// again, though other nodes, that have not timed out on it yet, still name it in
// their replies. Routing-table contacts whose last RPC failed are suspects for as long
// as they stay in the table; the others are kept in an LRU of suspectCacheLen.

const (
	suspectCacheLen = 256
	// suspectTTL is how long a contact stays a suspect without being heard from: about
	// as long as a bucket refresh lets a silent contact sit (maintenance asks a silent
	// table contact again within the hour).
	suspectTTL = 10 * time.Minute
)

// suspectCache holds the contacts outside the table that failed, with when they did,
// by ID and address: a contact named at an address that does not answer makes a suspect
// of that address alone, not of the node with that ID.
type suspectCache struct {
	c *lru.Cache[protocol.Contact, time.Time]
}

func newSuspectCache() suspectCache {
	c, err := lru.New[protocol.Contact, time.Time](suspectCacheLen)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return suspectCache{c: c}
}

// failed records that c did not answer, now.
func (s suspectCache) failed(c protocol.Contact, now time.Time) { s.c.Add(c, now) }

// heard clears c, which answered or sent a request from its address.
func (s suspectCache) heard(c protocol.Contact) { s.c.Remove(c) }

// has reports whether c failed within suspectTTL of now without being heard from since.
func (s suspectCache) has(c protocol.Contact, now time.Time) bool {
	at, ok := s.c.Peek(c)
	return ok && now.Sub(at) < suspectTTL
}

// suspect reports whether a lookup should pass c over while it has enough others: its
// last request from this node went unanswered.
func (n *Node) suspect(c protocol.Contact) bool {
	return n.table.Failing(c) || n.suspects.has(c, time.Now())
}
