package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"kad/protocol"
	"kad/routing"
	"kad/transports"
)

// outcome is what an exchange with a contact says of it, for the routing table.
type outcome uint8

const (
	// outcomeAnswered: the contact answered a request of ours, at the address it was
	// called at.
	outcomeAnswered outcome = iota
	// outcomeRequested: the contact sent a request from the address it was heard at,
	// and proved that address (a token of this node's, or the transport's handshake).
	outcomeRequested
	// outcomeFailed: no valid answer, and the contact is to blame (a timeout, a reply
	// that does not fit the request).
	outcomeFailed
)

// record is where the routing table learns from an exchange: a contact that answered
// or asked is seen (paper §2.2), and one that failed counts a failure. A contact whose
// ID is not known (a bootstrap address) is not recorded as failed. The liveness checks
// the table asks for are recorded by check, which also goes through here. A contact new
// to the table is offered the records it should now hold (handOff).
func (n *Node) record(c protocol.Contact, o outcome) {
	n.recordRTT(c, o, 0)
}

// recordRTT is record of an answer that took rtt to come, which the routing table
// takes into its estimates of c and its choice of contacts (routing.Table.SeenRTT).
func (n *Node) recordRTT(c protocol.Contact, o outcome, rtt time.Duration) {
	switch o {
	case outcomeAnswered, outcomeRequested:
		n.suspects.heard(c)
		var res routing.SeenResult
		if o == outcomeAnswered && rtt > 0 {
			res = n.table.SeenRTT(c, rtt)
		} else {
			res = n.table.Seen(c)
		}
		if res.Added && n.store.Len() > 0 {
			// When the queue is full, replication brings the records within
			// ReplicateInterval.
			// Either way its address is proven: a requester is recorded only once its
			// token or the transport proved it (handle).
			n.newcomers.push(newcomer{c, true})
		}
		if res.Ping.ID.IsZero() {
			return
		}
		if !n.pings.push(res.Ping) {
			// The queue of checks is full: the check is not sent, and the bucket will ask
			// again on the next contact it cannot admit.
			n.table.PingDropped(res.Ping)
		}
	case outcomeFailed:
		if !c.ID.IsZero() {
			if !n.table.Failed(c) {
				n.suspects.failed(c, time.Now())
			}
		}
	}
}

// check sends the liveness check of a full bucket's least-recently seen contact that
// the table asked for, and reports its outcome (paper §2.2: evict it only if it fails to
// answer). A check cut short by Close is dropped, not failed.
func (n *Node) check(c protocol.Contact) {
	_, err := n.rpc(n.ctx, c, &protocol.Message{Type: protocol.TypePing})
	switch {
	case err == nil:
		n.table.PingDone(c, true)
	case errors.Is(err, ErrClosed):
		n.table.PingDropped(c)
	default:
		n.table.PingDone(c, false)
	}
}

// probe queues a PING to c, a requester whose address is not proven and whom the
// routing table would take: it enters once it answers (outcomeAnswered), at the address
// this node will call it at. A forged source address never answers, so never enters.
func (n *Node) probe(c protocol.Contact) {
	n.probeMu.Lock()
	defer n.probeMu.Unlock()
	if _, ok := n.probing[c.ID]; ok || len(n.probing) >= probeQueueLen+n.cfg.Alpha {
		return
	}
	if n.probes.push(c) {
		n.probing[c.ID] = struct{}{}
	}
}

// sendProbe pings c, which probe queued.
func (n *Node) sendProbe(c protocol.Contact) {
	defer func() {
		n.probeMu.Lock()
		delete(n.probing, c.ID)
		n.probeMu.Unlock()
	}()
	if !n.table.Wants(c) { // it entered meanwhile, or its bucket filled
		return
	}
	n.rpc(n.ctx, c, &protocol.Message{Type: protocol.TypePing})
}

// rpc sends req to one node and returns its reply. It fills in the envelope, bounds the
// exchange by RPCTimeout, checks the reply fits the request, and records the outcome in
// the routing table. An ERROR reply is
// returned as a *protocol.RemoteError.
func (n *Node) rpc(ctx context.Context, to protocol.Contact, req *protocol.Message) (*protocol.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RPCTimeout)
	defer cancel()
	return n.call(ctx, to, req)
}

// call is rpc without its own timeout, for callers that time requests out themselves
// (the lookup engine keeps one timer for all its requests instead of one each).
func (n *Node) call(ctx context.Context, to protocol.Contact, req *protocol.Message) (*protocol.Message, error) {
	if err := n.closedErr(); err != nil {
		return nil, err
	}
	reply, peer, rtt, err := n.exchange(ctx, to, req)
	if err != nil {
		return nil, err
	}
	if reply.Type == protocol.TypeError && reply.ErrCode == protocol.CodeToken && len(reply.Token) > 0 && !bytes.Equal(reply.Token, req.Token) {
		// The peer has not validated this node's address: send again with the token it
		// gave (PROTOCOL.md, "Address validation"). Once: a peer that refuses its own
		// token is answered with the ERROR.
		n.counters.countSent(req.Type, SentErrorReply)
		if reply, peer, rtt, err = n.exchange(ctx, to, req); err != nil {
			return nil, err
		}
	}
	if reply.Flags&protocol.FlagClient == 0 && n.admissible(peer, reply.Sender) {
		n.recordRTT(protocol.Contact{ID: reply.Sender, Addr: to.Addr}, outcomeAnswered, rtt)
	} else if reply.Flags&protocol.FlagClient != 0 && reply.Sender == to.ID && n.table.ContainsAt(to) {
		// It no longer serves. Only the contact called, at its address: a reply from a
		// bootstrap address (no ID known) may claim any ID.
		n.table.Remove(reply.Sender)
	}
	if reply.Type == protocol.TypeError {
		n.counters.countSent(req.Type, SentErrorReply)
		return nil, fmt.Errorf("%s to %s: %w", req.Type, to.Addr, &protocol.RemoteError{Code: reply.ErrCode, Text: reply.ErrText})
	}
	n.counters.countSent(req.Type, SentOK)
	return reply, nil
}

// exchange sends req to one node and returns its reply, decoded and checked against the
// request. It fills in the envelope: a new RPC ID, the sender, the token the node at
// to.Addr last gave, or else, for a request whose answer may be large, the padding
// that lets a node that has not validated this one's address answer in full. It keeps
// the token the reply carries. Failures count as failures of to.
func (n *Node) exchange(ctx context.Context, to protocol.Contact, req *protocol.Message) (*protocol.Message, transports.Peer, time.Duration, error) {
	req.RPCID = protocol.NewRPCID()
	req.Sender = n.self.ID
	req.SenderAddr = n.advertisedAddr()
	if n.reach.client.Load() {
		req.Flags |= protocol.FlagClient
	}
	req.Token, req.Pad = nil, 0
	if !n.provesAddrs {
		req.Token = n.peerTokens.get(to.Addr)
	}
	b, err := req.Encode()
	if err != nil {
		return nil, transports.Peer{}, 0, err
	}
	if req.Token == nil && !n.provesAddrs && (req.Type == protocol.TypeFindNode || req.Type == protocol.TypeFindValue) {
		req.Pad = padFor(len(b), n.cfg.K, n.self.Addr)
		if b, err = req.Encode(); err != nil {
			return nil, transports.Peer{}, 0, err
		}
	}
	n.counters.requestsSent.Add(1)
	n.reach.note(to.Addr)
	sent := time.Now()
	raw, peer, err := n.tr.Call(ctx, to, b)
	if err != nil {
		n.counters.requestsFailed.Add(1)
		n.counters.countSent(req.Type, n.failure(err, sent))
		if n.ctx.Err() != nil {
			return nil, peer, 0, ErrClosed
		}
		// A request the caller gave up on says nothing of the peer, nor does a handler
		// error from a peer that did answer.
		if !errors.Is(err, context.Canceled) && !errors.Is(err, transports.ErrRemote) {
			n.record(to, outcomeFailed)
		}
		return nil, peer, 0, fmt.Errorf("%s to %s: %w", req.Type, to.Addr, err)
	}
	reply, err := protocol.Decode(raw)
	if err != nil {
		// A reply that does not decode counts as no reply (PROTOCOL.md, "Malformed input").
		n.counters.requestsFailed.Add(1)
		n.counters.countSent(req.Type, SentFailed)
		n.record(to, outcomeFailed)
		return nil, peer, 0, fmt.Errorf("%s to %s: %w: %w", req.Type, to.Addr, ErrBadReply, err)
	}
	if err := n.checkReply(to, peer, req, reply); err != nil {
		// Nor does one that does not fit the request: from another ID, the address now
		// belongs to another node.
		n.counters.requestsFailed.Add(1)
		n.counters.countSent(req.Type, SentFailed)
		n.record(to, outcomeFailed)
		return nil, peer, 0, fmt.Errorf("%s to %s: %w", req.Type, to.Addr, err)
	}
	if len(reply.Token) > 0 && !n.provesAddrs {
		n.peerTokens.put(to.Addr, reply.Token)
	}
	if reply.Type == protocol.TypeError {
		// An ERROR may come before the work (a refusal), so it times nothing.
		return reply, peer, 0, nil
	}
	rtt := time.Since(sent)
	n.rtt.observe(rtt)
	return reply, peer, rtt, nil
}

// failure is the outcome of a request sent at sent whose transport call failed with
// err. The lookup engine times its requests out itself and cancels them only when it
// ends, so a request canceled after RPCTimeout had timed out.
func (n *Node) failure(err error, sent time.Time) SentOutcome {
	var timeout interface{ Timeout() bool }
	switch {
	case errors.Is(err, transports.ErrRemote):
		return SentErrorReply
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &timeout) && timeout.Timeout():
		return SentTimeout
	case n.ctx.Err() != nil:
		return SentCanceled
	case errors.Is(err, context.Canceled):
		if time.Since(sent) >= n.cfg.RPCTimeout {
			return SentTimeout
		}
		return SentCanceled
	}
	return SentFailed
}

func (n *Node) checkReply(to protocol.Contact, peer transports.Peer, req, reply *protocol.Message) error {
	switch {
	case reply.RPCID != req.RPCID:
		return fmt.Errorf("%w: rpc id %x, want %x", ErrBadReply, reply.RPCID, req.RPCID)
	case reply.Type != protocol.TypeError && reply.Type != req.Type.ReplyType() &&
		!(req.Type == protocol.TypeFindValue && reply.Type == protocol.TypeNodes):
		return fmt.Errorf("%w: %s in reply to %s", ErrBadReply, reply.Type, req.Type)
	case !to.ID.IsZero() && reply.Sender != to.ID:
		return fmt.Errorf("%w: %w: got %s, want %s", ErrBadReply, transports.ErrIDMismatch, reply.Sender, to.ID)
	case reply.Type == protocol.TypeValue && reply.Key != req.Key:
		return fmt.Errorf("%w: value for key %s, want %s", ErrBadReply, reply.Key.Short(), req.Key.Short())
	case !peer.ID.IsZero() && reply.Sender != peer.ID:
		return fmt.Errorf("%w: %w: message claims %s, transport says %s", ErrBadReply, transports.ErrIDMismatch, reply.Sender, peer.ID)
	case n.cfg.RequireVerifiedIDs && !peer.Verified:
		return fmt.Errorf("%w: peer %s is unverified", ErrBadReply, reply.Sender.Short())
	}
	return nil
}

// admissible reports whether a sender claiming id over this peer may enter the routing
// table: a transport-proven identity must match the claim.
func (n *Node) admissible(peer transports.Peer, id protocol.ID) bool {
	if !peer.ID.IsZero() && peer.ID != id {
		return false
	}
	return peer.Verified || !n.cfg.RequireVerifiedIDs
}

// Ping sends PING to one node and returns its contact as it answered.
func (n *Node) Ping(ctx context.Context, to protocol.Contact) (protocol.Contact, error) {
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	reply, err := n.rpc(ctx, to, &protocol.Message{Type: protocol.TypePing})
	if err != nil {
		return protocol.Contact{}, err
	}
	return protocol.Contact{ID: reply.Sender, Addr: to.Addr}, nil
}

// StoreAt sends STORE key value to one node.
func (n *Node) StoreAt(ctx context.Context, to protocol.Contact, key protocol.ID, value []byte) error {
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	_, err := n.rpc(ctx, to, &protocol.Message{Type: protocol.TypeStore, Key: key, Value: value})
	return err
}

// FindNode sends FIND_NODE key to one node and returns the contacts it answered with.
func (n *Node) FindNode(ctx context.Context, to protocol.Contact, key protocol.ID) ([]protocol.Contact, error) {
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	reply, err := n.rpc(ctx, to, &protocol.Message{Type: protocol.TypeFindNode, Key: key})
	if err != nil {
		return nil, err
	}
	return reply.Contacts, nil
}

// FindValue sends FIND_VALUE key to one node. It returns the value if the node holds it
// (found true), else the contacts it answered with.
func (n *Node) FindValue(ctx context.Context, to protocol.Contact, key protocol.ID) (value []byte, contacts []protocol.Contact, found bool, err error) {
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	reply, err := n.rpc(ctx, to, &protocol.Message{Type: protocol.TypeFindValue, Key: key})
	if err != nil {
		return nil, nil, false, err
	}
	if reply.Type == protocol.TypeValue {
		return reply.Value, nil, true, nil
	}
	return nil, reply.Contacts, false, nil
}
