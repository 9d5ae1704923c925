package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kad/protocol"
	"kad/transports"
)

// handle answers one incoming request. Every well-formed request from a peer that answers
// requests updates the routing table (paper §2.2).
func (n *Node) handle(ctx context.Context, from transports.Peer, raw []byte) ([]byte, error) {
	n.counters.requestsHandled.Add(1)
	var req protocol.Message
	if !n.limiter.allow(from.Addr, time.Now()) {
		// Refused before the request touches the table or the store. It is still decoded
		// (a microsecond), so the ERROR echoes its RPC ID and the sender learns why.
		protocol.DecodeInto(&req, raw)
		return n.refuse(&req, ReceivedRateLimited, protocol.CodeRefused, "rate limited")
	}
	if err := protocol.DecodeInto(&req, raw); err != nil {
		n.log.Debug("bad request", "addr", from.Addr, "err", err)
		code, why := protocol.CodeBadRequest, ReceivedMalformed
		if errors.Is(err, protocol.ErrTooLarge) {
			code, why = protocol.CodeTooLarge, ReceivedTooLarge
		}
		return n.refuse(&req, why, code, err.Error())
	}
	if !req.Type.IsRequest() {
		return n.refuse(&req, ReceivedMalformed, protocol.CodeBadRequest, fmt.Sprintf("%s is not a request", req.Type))
	}
	switch {
	case !from.ID.IsZero() && req.Sender != from.ID:
		// The message claims another ID than the one the transport knows the peer by
		// (over QUIC: the one its certificate names): refuse, or it could hijack an ID.
		return n.refuse(&req, ReceivedIdentity, protocol.CodeIDMismatch, fmt.Sprintf("message claims id %s, transport says %s", req.Sender, from.ID))
	case !from.Verified && n.cfg.RequireVerifiedIDs:
		return n.refuse(&req, ReceivedIdentity, protocol.CodeUnverified, "this node requires verified ids")
	case req.Sender == n.self.ID:
		return n.refuse(&req, ReceivedIdentity, protocol.CodeBadRequest, "sender claims this node's id")
	}
	if req.Flags&protocol.FlagClient == 0 {
		n.record(protocol.Contact{ID: req.Sender, Addr: from.Addr}, outcomeRequested)
	}
	reply := req.Reply(req.Type.ReplyType(), n.self.ID, n.advertised)
	if n.cfg.ClientOnly {
		reply.Flags |= protocol.FlagClient
	}
	switch req.Type {
	case protocol.TypePing:
	case protocol.TypeStore:
		ttl := n.cfg.RecordTTL
		if req.TTL != 0 && time.Duration(req.TTL)*time.Second < ttl {
			ttl = time.Duration(req.TTL) * time.Second
		}
		if err := n.storeLocal(req.Key, req.Value, ttl, req.Sender, from.Addr); err != nil {
			switch {
			case errors.Is(err, ErrStoreFull):
				return n.refuse(&req, ReceivedStoreFull, protocol.CodeRefused, err.Error())
			case errors.Is(err, ErrSenderQuota):
				return n.refuse(&req, ReceivedSenderQuota, protocol.CodeRefused, err.Error())
			}
			n.log.Warn("store failed", "key", req.Key.Short(), "err", err)
			return n.refuse(&req, ReceivedInternal, protocol.CodeInternal, "store failed")
		}
	case protocol.TypeFindNode:
		reply.Contacts = n.closestFor(req.Key, req.Sender)
	case protocol.TypeFindValue:
		r, ok, err := n.store.Get(req.Key, time.Now())
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
	n.counters.countReceived(req.Type, ReceivedAnswered)
	return reply.Encode()
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
// request type.
func (n *Node) refuse(req *protocol.Message, why ReceivedOutcome, code uint16, text string) ([]byte, error) {
	n.counters.requestsRefused.Add(1)
	n.counters.countReceived(req.Type, why)
	reply := req.Reply(protocol.TypeError, n.self.ID, n.advertised)
	reply.ErrCode, reply.ErrText = code, protocol.ErrorText(text)
	return reply.Encode()
}
