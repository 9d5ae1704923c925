package node_test

import (
	"context"
	"errors"
	"testing"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/transports"
)

// TestBadRepliesCountAsFailures: a contact whose replies do not decode is treated as one
// that does not answer (PROTOCOL.md, "Malformed input"): after maxFails in a row it
// leaves the routing table.
func TestBadRepliesCountAsFailures(t *testing.T) {
	c := cluster.New(t, 1, cluster.Options{})
	n := c.Nodes[0]
	id := protocol.RandomID(nil)
	garbage, err := c.Network.NewTransport()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { garbage.Close() })
	if err := garbage.Serve(func(context.Context, transports.Peer, []byte) ([]byte, error) {
		return []byte{0xff, 0x00}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The garbage peer enters the table by sending a request.
	ping := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: id}
	call(t, garbage, n.Contact(), encode(t, ping))
	if !knows(n, id) {
		t.Fatal("the peer did not enter the table")
	}
	to := protocol.Contact{ID: id, Addr: garbage.LocalAddr()}
	for i := range 5 {
		if _, err := n.Ping(t.Context(), to); !errors.Is(err, node.ErrBadReply) {
			t.Fatalf("ping %d: %v, want ErrBadReply", i, err)
		}
	}
	if knows(n, id) {
		t.Fatal("a peer whose every reply was garbage is still in the table after 5 pings")
	}
}
