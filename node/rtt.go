package node

import (
	"sync"
	"time"

	"kad/protocol"
	"kad/routing"
)

// Adaptive timeouts (RFC 6298). Every answered request is a round-trip sample, kept per
// routing-table contact and for the node as a whole. A request's timeout is
// timeoutFactor × (SRTT + 4·RTTVAR), the RTO of RFC 6298 §2 with room for a loaded
// peer, within [max(minRPCTimeout, Config.RPCTimeout/4), Config.RPCTimeout]; its
// straggler delay (when a lookup stops waiting on it and asks another) is
// SRTT + 4·RTTVAR, within Config.StragglerDelay.
// A contact never timed starts from the node's own figures, and a node that has timed
// nothing yet uses the Config's. So a dead contact holds a lookup or a put for about
// twice a round trip to it rather than for RPCTimeout.

const (
	// minRPCTimeout is the shortest timeout, or a quarter of Config.RPCTimeout if that is
	// longer (a long RPCTimeout says the hosts are slow or loaded): below it scheduling
	// delays on a loaded host would time out live peers (Linux's TCP uses 200 ms).
	minRPCTimeout = 250 * time.Millisecond
	// minStraggler is the shortest straggler delay.
	minStraggler  = 2 * time.Millisecond
	timeoutFactor = 2
)

// rttEstimate is the node-wide SRTT and RTTVAR, over every contact.
type rttEstimate struct {
	mu           sync.Mutex
	srtt, rttvar uint32 // microseconds; srtt 0: no sample yet
}

func (e *rttEstimate) observe(rtt time.Duration) {
	e.mu.Lock()
	e.srtt, e.rttvar = routing.SmoothRTT(e.srtt, e.rttvar, rtt)
	e.mu.Unlock()
}

func (e *rttEstimate) get() (srtt, rttvar time.Duration, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Duration(e.srtt) * time.Microsecond, time.Duration(e.rttvar) * time.Microsecond, e.srtt != 0
}

// timeouts returns the straggler delay and the timeout of a request to c.
func (n *Node) timeouts(c protocol.Contact) (straggler, timeout time.Duration) {
	srtt, rttvar, ok := n.table.RTT(c.ID)
	if !ok {
		srtt, rttvar, ok = n.rtt.get()
	}
	if !ok {
		return min(n.cfg.StragglerDelay, n.cfg.RPCTimeout), n.cfg.RPCTimeout
	}
	rto := srtt + 4*rttvar
	timeout = min(max(timeoutFactor*rto, minRPCTimeout, n.cfg.RPCTimeout/4), n.cfg.RPCTimeout)
	return min(max(rto, minStraggler), n.cfg.StragglerDelay, timeout), timeout
}

// expectedRTT returns the round trip a request to c is expected to take: its SRTT, or
// the node's for a contact never timed, or 0 when the node has timed nothing.
func (n *Node) expectedRTT(c protocol.Contact) time.Duration {
	if srtt, _, ok := n.table.RTT(c.ID); ok {
		return srtt
	}
	srtt, _, _ := n.rtt.get()
	return srtt
}
