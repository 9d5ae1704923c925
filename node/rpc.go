package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kad/protocol"
	"kad/transports"
)

// rpc sends req to one node and returns its reply. It fills in the envelope, bounds the
// exchange by RPCTimeout, checks the reply fits the request, and feeds the routing table:
// an answer marks the contact seen, a failure counts against it. An ERROR reply is
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
	req.RPCID = protocol.NewRPCID()
	req.Sender = n.self.ID
	req.SenderAddr = n.advertised
	if n.cfg.ClientOnly {
		req.Flags |= protocol.FlagClient
	}
	b, err := req.Encode()
	if err != nil {
		return nil, err
	}
	n.counters.requestsSent.Add(1)
	raw, peer, err := n.tr.Call(ctx, to, b)
	if err != nil {
		n.counters.requestsFailed.Add(1)
		if n.ctx.Err() != nil {
			return nil, ErrClosed
		}
		// A request the caller gave up on says nothing of the peer, nor does a handler
		// error from a peer that did answer.
		if !to.ID.IsZero() && !errors.Is(err, context.Canceled) && !errors.Is(err, transports.ErrRemote) {
			n.table.Failed(to.ID)
		}
		return nil, fmt.Errorf("%s to %s: %w", req.Type, to.Addr, err)
	}
	reply, err := protocol.Decode(raw)
	if err != nil {
		n.counters.requestsFailed.Add(1)
		return nil, fmt.Errorf("%s to %s: %w: %w", req.Type, to.Addr, ErrBadReply, err)
	}
	if err := n.checkReply(to, peer, req, reply); err != nil {
		n.counters.requestsFailed.Add(1)
		return nil, fmt.Errorf("%s to %s: %w", req.Type, to.Addr, err)
	}
	if reply.Flags&protocol.FlagClient == 0 && n.admissible(peer, reply.Sender) {
		n.seen(protocol.Contact{ID: reply.Sender, Addr: to.Addr})
	}
	if reply.Type == protocol.TypeError {
		return nil, fmt.Errorf("%s to %s: %w", req.Type, to.Addr, &protocol.RemoteError{Code: reply.ErrCode, Text: reply.ErrText})
	}
	return reply, nil
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

// handle answers one incoming request. Every well-formed request from a peer that answers
// requests updates the routing table (paper §2.2).
func (n *Node) handle(ctx context.Context, from transports.Peer, raw []byte) ([]byte, error) {
	n.counters.requestsHandled.Add(1)
	var req protocol.Message
	if !n.limiter.allow(from.Addr, time.Now()) {
		// Refused before the request touches the table or the store. It is still decoded
		// (a microsecond), so the ERROR echoes its RPC ID and the sender learns why.
		protocol.DecodeInto(&req, raw)
		return n.errorReply(&req, protocol.CodeRefused, "rate limited")
	}
	if err := protocol.DecodeInto(&req, raw); err != nil {
		n.log.Debug("bad request", "addr", from.Addr, "err", err)
		return n.errorReply(&req, protocol.CodeBadRequest, err.Error())
	}
	if !req.Type.IsRequest() {
		return n.errorReply(&req, protocol.CodeBadRequest, fmt.Sprintf("%s is not a request", req.Type))
	}
	switch {
	case !from.ID.IsZero() && req.Sender != from.ID:
		// The message claims another ID than the one the transport knows the peer by
		// (over QUIC: the one its certificate names): refuse, or it could hijack an ID.
		return n.errorReply(&req, protocol.CodeIDMismatch, fmt.Sprintf("message claims id %s, transport says %s", req.Sender, from.ID))
	case !from.Verified && n.cfg.RequireVerifiedIDs:
		return n.errorReply(&req, protocol.CodeUnverified, "this node requires verified ids")
	case req.Sender == n.self.ID:
		return n.errorReply(&req, protocol.CodeBadRequest, "sender claims this node's id")
	}
	if req.Flags&protocol.FlagClient == 0 {
		n.seen(protocol.Contact{ID: req.Sender, Addr: from.Addr})
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
		if err := n.storeLocal(req.Key, req.Value, ttl, req.Sender); err != nil {
			if errors.Is(err, ErrStoreFull) {
				return n.errorReply(&req, protocol.CodeRefused, err.Error())
			}
			n.log.Warn("store failed", "key", req.Key.Short(), "err", err)
			return n.errorReply(&req, protocol.CodeInternal, "store failed")
		}
	case protocol.TypeFindNode:
		reply.Contacts = n.closestFor(req.Key, req.Sender)
	case protocol.TypeFindValue:
		if r, ok := n.store.Get(req.Key, time.Now()); ok {
			reply.Type = protocol.TypeValue
			reply.Key = req.Key
			reply.Value = r.Value
		} else {
			reply.Type = protocol.TypeNodes
			reply.Contacts = n.closestFor(req.Key, req.Sender)
		}
	}
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

func (n *Node) errorReply(req *protocol.Message, code uint16, text string) ([]byte, error) {
	n.counters.requestsRefused.Add(1)
	reply := req.Reply(protocol.TypeError, n.self.ID, n.advertised)
	reply.ErrCode, reply.ErrText = code, truncateUTF8(text, protocol.MaxErrorText)
	return reply.Encode()
}
