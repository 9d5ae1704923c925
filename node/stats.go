package node

import (
	"sync/atomic"
	"time"

	"kad/protocol"
)

// Stats are counters of what a node has done since it started. They only grow, except
// the three figures of what the node holds now.
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

	// Sent counts the requests this node sent by type and outcome: Sent[i][o] is of
	// RequestTypes[i]. They add up to RequestsSent.
	Sent [len(RequestTypes)][NumSentOutcomes]uint64
	// Received counts the requests this node answered by type and outcome: Received[i][o]
	// is of RequestTypes[i], and the last row of requests that named no request type
	// (undecodable, or a reply sent as a request). They add up to RequestsHandled.
	Received [len(RequestTypes) + 1][NumReceivedOutcomes]uint64
}

// RequestTypes are the four request types (paper §2.3), in the order of the rows of
// Stats.Sent and Stats.Received.
var RequestTypes = [...]protocol.Type{protocol.TypePing, protocol.TypeStore, protocol.TypeFindNode, protocol.TypeFindValue}

// requestIndex is t's row in Stats.Sent and Stats.Received: (t-1)/2 for the odd request
// types 1, 3, 5, 7, and len(RequestTypes) for any other.
func requestIndex(t protocol.Type) int {
	if !t.IsRequest() {
		return len(RequestTypes)
	}
	return int(t-1) / 2
}

// SentOutcome is how a request this node sent ended.
type SentOutcome uint8

// The outcomes of a sent request.
const (
	// SentOK: a reply that fits the request.
	SentOK SentOutcome = iota
	// SentErrorReply: the peer refused it with an ERROR reply, or its transport answered
	// that the handler failed.
	SentErrorReply
	// SentTimeout: no reply within RPCTimeout.
	SentTimeout
	// SentCanceled: the caller gave up on it first (a lookup that ended, a canceled
	// context, the node's Close). It says nothing of the peer.
	SentCanceled
	// SentFailed: any other failure: a reply that does not decode or does not fit the
	// request, an unreachable address, a transport error.
	SentFailed
	// NumSentOutcomes is the number of SentOutcome values.
	NumSentOutcomes = iota
)

var sentOutcomeNames = [NumSentOutcomes]string{"ok", "error", "timeout", "canceled", "failed"}

// String returns the outcome's name as metrics label it: ok, error, timeout, canceled,
// failed.
func (o SentOutcome) String() string {
	if int(o) < len(sentOutcomeNames) {
		return sentOutcomeNames[o]
	}
	return "unknown"
}

// ReceivedOutcome is how this node answered a request.
type ReceivedOutcome uint8

// The outcomes of a received request: answered, or refused with ERROR for a reason.
const (
	// ReceivedAnswered: answered with the reply of its type.
	ReceivedAnswered ReceivedOutcome = iota
	// ReceivedRateLimited: its sender passed Config.RequestRate.
	ReceivedRateLimited
	// ReceivedStoreFull: a STORE that would pass Config.MaxStoreBytes.
	ReceivedStoreFull
	// ReceivedTooLarge: over the message or value size limits.
	ReceivedTooLarge
	// ReceivedMalformed: it did not decode, or was not a request.
	ReceivedMalformed
	// ReceivedIdentity: the sender's claimed ID was refused: not the one the transport
	// proved, this node's own, or unverified when Config.RequireVerifiedIDs is set.
	ReceivedIdentity
	// ReceivedInternal: this node failed to answer it (its store failed).
	ReceivedInternal
	// ReceivedSenderQuota: a STORE that would take its sender past
	// Config.MaxRecordsPerSender or Config.MaxBytesPerSender. It is counted apart from
	// ReceivedStoreFull because it calls for another remedy: a full node needs room, a
	// sender over its quota is one host pushing more than its share (or quotas set too
	// low for the network).
	ReceivedSenderQuota
	// ReceivedUnvalidated: from an address not validated, a STORE without a valid token
	// or a request whose answer would be over three times its size; answered with
	// ERROR code 7 and a token (PROTOCOL.md, "Address validation"), or not at all.
	ReceivedUnvalidated
	// ReceivedNoDialBack: a reachability dial-back this node would not or could not do
	// now: over its dial-back limits, or with no third node to ask (PROTOCOL.md,
	// "Reachability").
	ReceivedNoDialBack
	// NumReceivedOutcomes is the number of ReceivedOutcome values.
	NumReceivedOutcomes = iota
)

var receivedOutcomeNames = [NumReceivedOutcomes]string{
	"answered", "rate_limited", "store_full", "too_large", "malformed", "identity", "internal",
	"sender_quota", "unvalidated", "no_dial_back",
}

// String returns the outcome's name as metrics label it: answered, rate_limited,
// store_full, too_large, malformed, identity, internal, sender_quota, unvalidated,
// no_dial_back.
func (o ReceivedOutcome) String() string {
	if int(o) < len(receivedOutcomeNames) {
		return receivedOutcomeNames[o]
	}
	return "unknown"
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

// counters are the node's Stats as it counts them: fixed arrays of atomics, so that
// counting takes no lock and no allocation.
type counters struct {
	requestsSent, requestsFailed, requestsHandled, requestsRefused atomic.Uint64
	lookups, lookupRequests, lookupRounds, valuesFound             atomic.Uint64

	sent     [len(RequestTypes)][NumSentOutcomes]atomic.Uint64
	received [len(RequestTypes) + 1][NumReceivedOutcomes]atomic.Uint64
}

// countSent counts a sent request of type t that ended with o.
func (c *counters) countSent(t protocol.Type, o SentOutcome) {
	if i := requestIndex(t); i < len(c.sent) {
		c.sent[i][o].Add(1)
	}
}

// countReceived counts a received request of type t (any, if it named none) that was
// answered with o.
func (c *counters) countReceived(t protocol.Type, o ReceivedOutcome) {
	c.received[requestIndex(t)][o].Add(1)
}

// SentOf returns how many requests of type t the node sent that ended with o.
func (s *Stats) SentOf(t protocol.Type, o SentOutcome) uint64 {
	if i := requestIndex(t); i < len(s.Sent) && o < NumSentOutcomes {
		return s.Sent[i][o]
	}
	return 0
}

// ReceivedOf returns how many requests of type t the node answered with o; for a t
// that is not a request type, how many named no request type.
func (s *Stats) ReceivedOf(t protocol.Type, o ReceivedOutcome) uint64 {
	if o < NumReceivedOutcomes {
		return s.Received[requestIndex(t)][o]
	}
	return 0
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	c := &n.counters
	s := Stats{
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
	for i := range c.sent {
		for o := range c.sent[i] {
			s.Sent[i][o] = c.sent[i][o].Load()
		}
	}
	for i := range c.received {
		for o := range c.received[i] {
			s.Received[i][o] = c.received[i][o].Load()
		}
	}
	return s
}
