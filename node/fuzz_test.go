package node

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"kad/protocol"
	"kad/transports"
)

// nullTransport is a Transport that reaches nobody, for driving a node's handler directly.
type nullTransport struct{ addr netip.AddrPort }

func (nullTransport) Serve(transports.Handler) error { return nil }
func (nullTransport) Call(context.Context, protocol.Contact, []byte) ([]byte, transports.Peer, error) {
	return nil, transports.Peer{}, transports.ErrUnreachable
}
func (t nullTransport) LocalAddr() netip.AddrPort { return t.addr }
func (nullTransport) Close() error                { return nil }

// FuzzHandle feeds arbitrary request bytes to a node's handler, the point where network
// bytes enter it: it must not panic, must always answer with a well-formed message that
// echoes what it could read of the request, and must keep the record it held before.
func FuzzHandle(f *testing.F) {
	sender := protocol.KeyFromString("fuzz sender")
	for _, m := range []*protocol.Message{
		{Type: protocol.TypePing, RPCID: protocol.RPCID{1}, Sender: sender},
		{Type: protocol.TypeStore, RPCID: protocol.RPCID{2}, Sender: sender, Key: protocol.KeyFromString("k"), Value: []byte("v"), TTL: 60},
		{Type: protocol.TypeFindNode, RPCID: protocol.RPCID{3}, Sender: sender, Key: protocol.KeyFromString("k")},
		{Type: protocol.TypeFindValue, RPCID: protocol.RPCID{4}, Sender: sender, Key: protocol.KeyFromString("kept")},
		{Type: protocol.TypeNodes, RPCID: protocol.RPCID{5}, Sender: sender},
		// The three PINGs of a reachability check.
		{Type: protocol.TypePing, RPCID: protocol.RPCID{6}, Sender: sender, Flags: protocol.FlagDialBack, Nonce: []byte("12345678")},
		{Type: protocol.TypePing, RPCID: protocol.RPCID{7}, Sender: sender, Nonce: []byte("12345678"), Target: netip.MustParseAddrPort("127.0.0.1:6000")},
		{Type: protocol.TypePing, RPCID: protocol.RPCID{8}, Sender: sender, Nonce: []byte("12345678")},
	} {
		b, err := m.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})

	n, err := New(Config{RequestRate: -1}, nullTransport{addr: netip.MustParseAddrPort("127.0.0.1:4000")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	kept := protocol.KeyFromString("kept")
	if err := n.storeLocal(kept, []byte("kept value"), time.Hour, sender, netip.AddrPort{}); err != nil {
		f.Fatal(err)
	}
	from := transports.Peer{Addr: netip.MustParseAddrPort("127.0.0.1:5000")}

	f.Fuzz(func(t *testing.T, req []byte) {
		resp, err := n.handle(context.Background(), from, req)
		if errors.Is(err, transports.ErrNoReply) {
			// An answer that would be over three times the request, to an address not
			// validated: nothing is sent (PROTOCOL.md, "Address validation").
			if len(req) >= 64 {
				t.Fatalf("no reply to a request of %d bytes", len(req))
			}
			return
		}
		if err != nil {
			t.Fatalf("handler error: %v", err)
		}
		reply, err := protocol.Decode(resp)
		if err != nil {
			t.Fatalf("reply does not decode: %v", err)
		}
		if reply.Sender != n.ID() || reply.Type.IsRequest() {
			t.Fatalf("reply %s from %s", reply.Type, reply.Sender.Short())
		}
		if in, err := protocol.Decode(req); err == nil && reply.RPCID != in.RPCID {
			t.Fatalf("reply rpc id %x, request %x", reply.RPCID, in.RPCID)
		} else if errors.Is(err, protocol.ErrMalformed) && reply.Type != protocol.TypeError {
			t.Fatalf("malformed request answered with %s", reply.Type)
		}
		if r, ok, err := n.store.Get(kept, time.Now()); err != nil || !ok || string(r.Value) != "kept value" {
			if in, err := protocol.Decode(req); err != nil || in.Type != protocol.TypeStore || in.Key != kept {
				t.Fatal("stored record lost")
			}
			// A STORE under the same key may replace it; put it back for the next input.
			n.storeLocal(kept, []byte("kept value"), time.Hour, sender, netip.AddrPort{})
		}
	})
}
