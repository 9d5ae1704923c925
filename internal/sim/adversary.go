package sim

import (
	"context"
	"sync"

	"kad/protocol"
	"kad/transports"
)

// Adversarial nodes (Config.Adversarial) are real nodes — they join, keep routing
// tables, run their maintenance and their own lookups — whose transport is wrapped so
// that the requests that route others are answered by the wrapper instead of the node:
// every FIND_NODE and FIND_VALUE gets a NODES reply naming the k adversaries closest to
// the key, and only them; every STORE gets STORED and is dropped. The adversaries
// collude in the strongest way this allows, the eclipse S/Kademlia's disjoint lookups
// are meant to resist: each one claims that its accomplices are the closest nodes to any
// key, they are real nodes that answer the same, and no value is ever found through
// them. PING, and anything else, reaches the node as usual, so that they stay in the
// honest nodes' routing tables.

// adversaries is the set of adversarial nodes up in a run, which each of them names
// in its answers. It is safe for concurrent use.
type adversaries struct {
	mu       sync.RWMutex
	ids      []protocol.ID
	contacts map[protocol.ID]protocol.Contact
}

// add adds a started adversary.
func (a *adversaries) add(c protocol.Contact) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.contacts == nil {
		a.contacts = make(map[protocol.ID]protocol.Contact)
	}
	if _, ok := a.contacts[c.ID]; ok {
		return
	}
	a.contacts[c.ID] = c
	a.ids = append(a.ids, c.ID)
}

// remove removes an adversary that left: its accomplices stop naming it.
func (a *adversaries) remove(id protocol.ID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.contacts[id]; !ok {
		return
	}
	delete(a.contacts, id)
	for i, x := range a.ids {
		if x == id {
			a.ids[i] = a.ids[len(a.ids)-1]
			a.ids = a.ids[:len(a.ids)-1]
			break
		}
	}
}

// closest returns the k adversaries closest to key, closest first, leaving out self
// and requester.
func (a *adversaries) closest(key, self, requester protocol.ID, k int) []protocol.Contact {
	a.mu.RLock()
	defer a.mu.RUnlock()
	ids := closest(a.ids, key, self, k+1)
	out := make([]protocol.Contact, 0, k)
	for _, id := range ids {
		if id != requester && len(out) < k {
			out = append(out, a.contacts[id])
		}
	}
	return out
}

// adversaryTransport is an adversarial node's transport: see adversaries.
type adversaryTransport struct {
	transports.Transport
	self protocol.ID // the node's
	k    int
	set  *adversaries
}

// Serve serves h behind the adversary's answers.
func (t *adversaryTransport) Serve(h transports.Handler) error {
	return t.Transport.Serve(func(ctx context.Context, from transports.Peer, raw []byte) ([]byte, error) {
		var req protocol.Message
		if protocol.DecodeInto(&req, raw) != nil || req.Sender == t.self {
			return h(ctx, from, raw)
		}
		switch req.Type {
		case protocol.TypeFindNode, protocol.TypeFindValue:
			reply := req.Reply(protocol.TypeNodes, t.self, t.LocalAddr())
			reply.Contacts = t.set.closest(req.Key, t.self, req.Sender, t.k)
			return reply.Encode()
		case protocol.TypeStore:
			return req.Reply(protocol.TypeStored, t.self, t.LocalAddr()).Encode()
		}
		return h(ctx, from, raw)
	})
}
