package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kad/protocol"
	"kad/transports"
)

// handle answers one incoming request. A sender enters the routing table (paper §2.2)
// once its address is proven: by a token this node issued to it, by the transport (a
// QUIC handshake), or by answering the PING this node sends to a requester it would add.
// Until an address is validated, the answer to it is at most amplificationLimit times
// the request's size (PROTOCOL.md, "Address validation").
func (n *Node) handle(ctx context.Context, from transports.Peer, raw []byte) ([]byte, error) {
	n.counters.requestsHandled.Add(1)
	// Whatever it is, it is answered (or not) at from, which a NAT would remember.
	defer n.reach.note(from.Addr)
	var req protocol.Message
	now := time.Now()
	if !n.limiter.allow(from.Addr, now) {
		// Refused before the request touches the table or the store. It is still decoded
		// (a microsecond), so the ERROR echoes its RPC ID and the sender learns why.
		protocol.DecodeInto(&req, raw)
		v := n.validation(&req, from, len(raw), now)
		return n.refuse(&req, v, ReceivedRateLimited, protocol.CodeRefused, "rate limited")
	}
	if err := protocol.DecodeInto(&req, raw); err != nil {
		n.log.Debug("bad request", "addr", from.Addr, "err", err)
		code, why := protocol.CodeBadRequest, ReceivedMalformed
		if errors.Is(err, protocol.ErrTooLarge) {
			code, why = protocol.CodeTooLarge, ReceivedTooLarge
		}
		return n.refuse(&req, validation{limited: true, limit: amplificationLimit * len(raw)}, why, code, err.Error())
	}
	v := n.validation(&req, from, len(raw), now)
	if !req.Type.IsRequest() {
		return n.refuse(&req, v, ReceivedMalformed, protocol.CodeBadRequest, fmt.Sprintf("%s is not a request", req.Type))
	}
	switch {
	case !from.ID.IsZero() && req.Sender != from.ID:
		// The message claims another ID than the one the transport knows the peer by
		// (over QUIC: the one its certificate names): refuse, or it could hijack an ID.
		return n.refuse(&req, v, ReceivedIdentity, protocol.CodeIDMismatch, fmt.Sprintf("message claims id %s, transport says %s", req.Sender, from.ID))
	case !from.Verified && n.cfg.RequireVerifiedIDs:
		return n.refuse(&req, v, ReceivedIdentity, protocol.CodeUnverified, "this node requires verified ids")
	case req.Sender == n.self.ID:
		return n.refuse(&req, v, ReceivedIdentity, protocol.CodeBadRequest, "sender claims this node's id")
	}
	order, dialBack, arrival := dialBackPart(&req)
	if arrival {
		n.dialBackArrived(req.Nonce, from.Addr)
	}
	if req.Flags&protocol.FlagClient == 0 {
		c := protocol.Contact{ID: req.Sender, Addr: from.Addr}
		switch {
		case v.proven:
			n.record(c, outcomeRequested)
		case n.table.Wants(c):
			n.probe(c)
		}
	} else if c := (protocol.Contact{ID: req.Sender, Addr: from.Addr}); v.proven && n.table.ContainsAt(c) {
		// A contact that now says it does not serve (it found itself behind a NAT) leaves
		// the table, rather than waiting to fail strangers' lookups. Only from its own,
		// proven address: else anyone could evict any contact by claiming its ID.
		n.table.Remove(req.Sender)
	}
	reply := req.Reply(req.Type.ReplyType(), n.self.ID, n.advertisedAddr())
	if n.reach.client.Load() {
		reply.Flags |= protocol.FlagClient
	}
	switch req.Type {
	case protocol.TypePing:
		if (order || dialBack) && !v.proven {
			// Else a forged source address could have others PING a victim.
			return n.refuse(&req, v, ReceivedUnvalidated, protocol.CodeToken, "address not validated: send the dial-back request again with the token")
		}
		var err error
		switch {
		case order:
			err = n.orderDialBack(ctx, protocol.Contact{ID: req.Sender, Addr: from.Addr}, req.Nonce)
		case dialBack:
			err = n.dialBack(req.Target, req.Nonce)
		}
		if err != nil {
			return n.refuse(&req, v, ReceivedNoDialBack, protocol.CodeRefused, err.Error())
		}
	case protocol.TypeStore:
		if !v.proven {
			// Without a proof of its address anyone could store in another's name, and
			// the quotas would charge the wrong host.
			return n.refuse(&req, v, ReceivedUnvalidated, protocol.CodeToken, "address not validated: send the STORE again with the token")
		}
		ttl := n.cfg.RecordTTL
		if req.TTL != 0 && time.Duration(req.TTL)*time.Second < ttl {
			ttl = time.Duration(req.TTL) * time.Second
		}
		if err := n.storeLocal(req.Key, req.Value, ttl, req.Sender, from.Addr); err != nil {
			switch {
			case errors.Is(err, ErrStoreFull):
				return n.refuse(&req, v, ReceivedStoreFull, protocol.CodeRefused, err.Error())
			case errors.Is(err, ErrSenderQuota):
				return n.refuse(&req, v, ReceivedSenderQuota, protocol.CodeRefused, err.Error())
			}
			n.log.Warn("store failed", "key", req.Key.Short(), "err", err)
			return n.refuse(&req, v, ReceivedInternal, protocol.CodeInternal, "store failed")
		}
	case protocol.TypeFindNode:
		reply.Contacts = n.closestFor(req.Key, req.Sender)
	case protocol.TypeFindValue:
		r, ok, err := n.store.Get(req.Key, now)
		if err != nil {
			// The requester finds the value at another of the k closest.
			n.log.Warn("store read failed", "key", req.Key.Short(), "err", err)
		}
		if ok {
			reply.Type = protocol.TypeValue
			reply.Key = req.Key
			reply.Value = r.Value
		} else {
			reply.Type = protocol.TypeNodes
			reply.Contacts = n.closestFor(req.Key, req.Sender)
		}
	}
	b, err := n.answer(&req, reply, v)
	if err == nil {
		n.counters.countReceived(req.Type, ReceivedAnswered)
	} else if errors.Is(err, errUnvalidated) {
		// Too large for an address not validated yet: the sender is told how to prove it.
		return n.refuse(&req, v, ReceivedUnvalidated, protocol.CodeToken, "address not validated: the answer is over three times the request; send it again with the token")
	}
	return b, err
}

// validation is what a request says of its sender's address.
type validation struct {
	// proven: the address is the sender's, by a token of this node's or by the transport.
	proven bool
	// limited: the answer may have at most limit bytes.
	limited bool
	limit   int
	// token, when not nil, is a new token for the sender: its request carried none, or
	// one of the previous secret.
	token []byte
}

// validation checks the token of req, size bytes, against the address it came from. A sender that has
// answered this node at that address (a routing-table contact) is validated, so its
// answers are not limited, but it is not proven: that takes a token or the transport.
func (n *Node) validation(req *protocol.Message, from transports.Peer, size int, now time.Time) validation {
	if from.Verified || n.noAddrValidation.Load() {
		// The transport's handshake proved the address (QUIC, RFC 9000 §8).
		return validation{proven: true}
	}
	var v validation
	ok, current := n.tokens.check(req.Token, from.Addr, now)
	v.proven = ok
	if !current {
		v.token = n.tokens.issue(from.Addr, now)
	}
	if !ok && !n.table.ContainsAt(protocol.Contact{ID: req.Sender, Addr: from.Addr}) {
		v.limited, v.limit = true, amplificationLimit*size
	}
	return v
}

// errUnvalidated: an answer over the limit for an address not validated.
var errUnvalidated = errors.New("answer over the limit for an unvalidated address")

// answer encodes reply to req with the token v carries, if any, within v's limit: an
// answer over it fails with errUnvalidated; an ERROR over it loses its text, and if it
// still does not fit, nothing is sent (transports.ErrNoReply).
func (n *Node) answer(req *protocol.Message, reply *protocol.Message, v validation) ([]byte, error) {
	reply.Token = v.token
	b, err := reply.Encode()
	if err != nil || !v.limited || len(b) <= v.limit {
		return b, err
	}
	if reply.Type != protocol.TypeError {
		return nil, errUnvalidated
	}
	reply.ErrText = ""
	if b, err = reply.Encode(); err != nil || len(b) <= v.limit {
		return b, err
	}
	return nil, transports.ErrNoReply
}

// closestFor returns the k contacts closest to key, leaving out the requester (it knows
// itself). Without it a lookup might count the requester in its own answer.
func (n *Node) closestFor(key, requester protocol.ID) []protocol.Contact {
	cs := n.table.AppendClosestLive(make([]protocol.Contact, 0, n.cfg.K+1), key, n.cfg.K+1)
	for i, c := range cs {
		if c.ID == requester {
			cs = append(cs[:i], cs[i+1:]...)
			break
		}
	}
	if len(cs) > n.cfg.K {
		cs = cs[:n.cfg.K]
	}
	return cs
}

// refuse answers req with ERROR code text, and counts it as refused for why. req may
// be what was decoded of a request that did not decode: its type counts if it names a
// request type. The ERROR keeps within v's limit, or is not sent.
func (n *Node) refuse(req *protocol.Message, v validation, why ReceivedOutcome, code uint16, text string) ([]byte, error) {
	n.counters.requestsRefused.Add(1)
	n.counters.countReceived(req.Type, why)
	reply := req.Reply(protocol.TypeError, n.self.ID, n.advertisedAddr())
	reply.ErrCode, reply.ErrText = code, protocol.ErrorText(text)
	return n.answer(req, reply, v)
}
