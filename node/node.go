package node

import (
	"context"
	"errors"
	"net/netip"

	"kad/protocol"
	"kad/transports"
)

var errTODO = errors.New("not implemented yet")

// Node is one Kademlia peer. Its methods are safe for concurrent use.
type Node struct {
	cfg  Config
	tr   transports.Transport
	self protocol.Contact
}

// New starts a node on tr. The node owns tr from then on and closes it in Close.
func New(cfg Config, tr transports.Transport) (*Node, error) { return nil, errTODO }

// ID returns the node's ID.
func (n *Node) ID() protocol.ID { return n.self.ID }

// Addr returns the address the node listens on.
func (n *Node) Addr() netip.AddrPort { return n.self.Addr }

// Contact returns the node's own contact.
func (n *Node) Contact() protocol.Contact { return n.self }

// Verified reports whether the transport proves this node's ID to peers.
func (n *Node) Verified() bool { return false }

// Close stops the node and every goroutine it started, then closes the transport.
func (n *Node) Close() error { return errTODO }

// Bootstrap joins the network through the given contacts (an ID may be zero when
// unknown): it pings them, looks up its own ID and refreshes the buckets farther away.
// It fails with ErrBootstrap when none of them answers.
func (n *Node) Bootstrap(ctx context.Context, contacts ...protocol.Contact) error { return errTODO }

// Put stores value under key at the k nodes closest to key, and returns how many stored it.
func (n *Node) Put(ctx context.Context, key protocol.ID, value []byte) (int, error) {
	return 0, errTODO
}

// Get looks key up in the network (its own store first) and returns its value, or
// ErrNotFound.
func (n *Node) Get(ctx context.Context, key protocol.ID) ([]byte, error) { return nil, errTODO }

// Lookup finds the k nodes closest to key in the network (iterative FIND_NODE),
// closest first.
func (n *Node) Lookup(ctx context.Context, key protocol.ID) ([]protocol.Contact, error) {
	return nil, errTODO
}

// Ping sends PING to one node and returns its contact as it answered.
func (n *Node) Ping(ctx context.Context, to protocol.Contact) (protocol.Contact, error) {
	return protocol.Contact{}, errTODO
}

// StoreAt sends STORE key value to one node.
func (n *Node) StoreAt(ctx context.Context, to protocol.Contact, key protocol.ID, value []byte) error {
	return errTODO
}

// FindNode sends FIND_NODE key to one node and returns the contacts it answered with.
func (n *Node) FindNode(ctx context.Context, to protocol.Contact, key protocol.ID) ([]protocol.Contact, error) {
	return nil, errTODO
}

// FindValue sends FIND_VALUE key to one node. It returns the value if the node holds it,
// else the contacts it answered with.
func (n *Node) FindValue(ctx context.Context, to protocol.Contact, key protocol.ID) ([]byte, []protocol.Contact, error) {
	return nil, nil, errTODO
}

// Contacts returns every contact in the routing table, closest to the node first.
func (n *Node) Contacts() []protocol.Contact { return nil }
