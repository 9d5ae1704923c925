package node

import (
	"sync/atomic"
	"time"

	"kad/protocol"
)

// Stats are counters of what a node has done since it started. They only grow.
type Stats struct {
	RequestsSent     uint64 // RPCs this node sent
	RequestsFailed   uint64 // of those, the ones that got no valid reply
	RequestsHandled  uint64 // requests received and answered (ERROR replies included)
	RequestsRefused  uint64 // of those, the ones answered with ERROR
	Lookups          uint64 // iterative lookups run
	LookupRequests   uint64 // RPCs sent by lookups
	LookupRounds     uint64 // sum over lookups of the longest referral chain followed
	ValuesFound      uint64 // value lookups that found the value
	RoutingTableSize int    // contacts in the routing table now
	StoredRecords    int    // records in the store now
	StoredBytes      int64  // total size of their values
}

// LookupTrace describes one iterative lookup once it has ended, for Config.OnLookup.
type LookupTrace struct {
	Target protocol.ID
	Value  bool // a value lookup (FIND_VALUE); else a node lookup
	Found  bool // a value lookup found the value
	// Hops is the referral depth at which the value was found, or, for a node lookup or
	// a value not found, at which the closest node that answered was learned: contacts
	// from the node's own routing table are depth 1, contacts a depth-d node returned
	// depth d+1.
	Hops int
	// Rounds is the longest chain of referrals the lookup followed.
	Rounds   int
	RPCs     int // requests sent
	Timeouts int // requests the lookup gave up on
	Took     time.Duration
	Err      error // why the lookup ended early: its context's error, or ErrClosed
}

type counters struct {
	requestsSent, requestsFailed, requestsHandled, requestsRefused atomic.Uint64
	lookups, lookupRequests, lookupRounds, valuesFound             atomic.Uint64
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	c := &n.counters
	return Stats{
		RequestsSent:     c.requestsSent.Load(),
		RequestsFailed:   c.requestsFailed.Load(),
		RequestsHandled:  c.requestsHandled.Load(),
		RequestsRefused:  c.requestsRefused.Load(),
		Lookups:          c.lookups.Load(),
		LookupRequests:   c.lookupRequests.Load(),
		LookupRounds:     c.lookupRounds.Load(),
		ValuesFound:      c.valuesFound.Load(),
		RoutingTableSize: n.table.Len(),
		StoredRecords:    n.store.Len(),
		StoredBytes:      n.store.Bytes(),
	}
}
