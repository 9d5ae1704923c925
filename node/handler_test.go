package node_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
)

// newMemPair starts one node on a new mem network, and a raw transport beside it.
func newMemPair(t *testing.T, cfg node.Config) (*node.Node, transports.Transport) {
	t.Helper()
	c := cluster.New(t, 1, cluster.Options{Config: cfg})
	return c.Nodes[0], rawTransport(t, c.Network)
}

// rawTransport returns a transport on nw for sending hand-made messages; it answers no
// requests.
func rawTransport(t *testing.T, nw *mem.Network) transports.Transport {
	t.Helper()
	raw, err := nw.NewTransport()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Serve(func(context.Context, transports.Peer, []byte) ([]byte, error) {
		return nil, errors.New("not serving")
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// call sends req from tr to the node at to, as a client that implements address
// validation does: a request that decodes and carries no token goes with the token of a
// PING sent first under the same sender ID. Bytes that do not decode go as they are.
func call(t *testing.T, tr transports.Transport, to protocol.Contact, req []byte) *protocol.Message {
	t.Helper()
	if m, err := protocol.Decode(req); err == nil && m.Type.IsRequest() && len(m.Token) == 0 {
		ping := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: m.Sender, Flags: m.Flags & protocol.FlagClient}
		if pong := callRaw(t, tr, to, encode(t, ping)); len(pong.Token) > 0 {
			m.Token = pong.Token
			req = encode(t, m)
		}
	}
	return callRaw(t, tr, to, req)
}

// wantNoReply fails unless req from tr gets no answer from the node at to.
func wantNoReply(t *testing.T, tr transports.Transport, to protocol.Contact, req []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if resp, _, err := tr.Call(ctx, to, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%d bytes of input: answered (%d bytes, %v), want no answer", len(req), len(resp), err)
	}
}

// callRaw sends req from tr to the node at to, as it is.
func callRaw(t *testing.T, tr transports.Transport, to protocol.Contact, req []byte) *protocol.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, _, err := tr.Call(ctx, to, req)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	m, err := protocol.Decode(resp)
	if err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return m
}

func encode(t *testing.T, m *protocol.Message) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHandlerRefusesBadInput sends malformed and misdirected requests: each gets an ERROR
// reply, and what the node stored before is still there after.
func TestHandlerRefusesBadInput(t *testing.T) {
	n, raw := newMemPair(t, node.Config{})
	sender := protocol.RandomID(nil)
	key := protocol.KeyFromString("kept")
	store := &protocol.Message{Type: protocol.TypeStore, RPCID: protocol.NewRPCID(), Sender: sender, Key: key, Value: []byte("v")}
	if got := call(t, raw, n.Contact(), encode(t, store)); got.Type != protocol.TypeStored || got.RPCID != store.RPCID {
		t.Fatalf("store: got %s rpc %x", got.Type, got.RPCID)
	}
	pong := encode(t, &protocol.Message{Type: protocol.TypePong, RPCID: protocol.NewRPCID(), Sender: sender})
	selfClaim := encode(t, &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: n.ID()})
	// Input too short for an ERROR within three times its size is not answered at all
	// (PROTOCOL.md, "Address validation").
	for _, quiet := range [][]byte{nil, []byte("\xff\x00garbage"), encode(t, store)[:10], {0x83, 0x01, 0x02, 0x03}} {
		wantNoReply(t, raw, n.Contact(), quiet)
	}
	cases := []struct {
		name string
		req  []byte
		code uint16
	}{
		{"garbage", append([]byte("\xff\x00garbage"), make([]byte, 40)...), protocol.CodeBadRequest},
		{"truncated", encode(t, store)[:40], protocol.CodeBadRequest},
		{"reply type as request", pong, protocol.CodeBadRequest},
		{"sender claims the node's own id", selfClaim, protocol.CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, raw, n.Contact(), tc.req)
			if got.Type != protocol.TypeError || got.ErrCode != tc.code {
				t.Fatalf("got %s code %d (%q), want ERROR code %d", got.Type, got.ErrCode, got.ErrText, tc.code)
			}
		})
	}
	if r, ok, _ := n.Store().Get(key, time.Now()); !ok || string(r.Value) != "v" {
		t.Fatalf("stored record lost after bad input")
	}
	if knows(n, n.ID()) {
		t.Fatalf("node admitted its own id")
	}
}

// TestHandlerAnswers checks each RPC's reply, and that a requester enters the table
// unless it is client-only.
func TestHandlerAnswers(t *testing.T) {
	n, raw := newMemPair(t, node.Config{})
	peer := protocol.RandomID(nil)
	ping := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: peer}
	got := call(t, raw, n.Contact(), encode(t, ping))
	if got.Type != protocol.TypePong || got.Sender != n.ID() || got.RPCID != ping.RPCID {
		t.Fatalf("ping: got %+v", got)
	}
	if !knows(n, peer) {
		t.Fatalf("pinging peer not added to the routing table")
	}
	client := protocol.RandomID(nil)
	cping := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: client, Flags: protocol.FlagClient}
	call(t, raw, n.Contact(), encode(t, cping))
	if knows(n, client) {
		t.Fatalf("client-only peer added to the routing table")
	}
	key := protocol.KeyFromString("k")
	fv := &protocol.Message{Type: protocol.TypeFindValue, RPCID: protocol.NewRPCID(), Sender: peer, Key: key}
	if got := call(t, raw, n.Contact(), encode(t, fv)); got.Type != protocol.TypeNodes || len(got.Contacts) != 0 {
		t.Fatalf("find value of a missing key: got %s with %d contacts, want NODES without the requester", got.Type, len(got.Contacts))
	}
	st := &protocol.Message{Type: protocol.TypeStore, RPCID: protocol.NewRPCID(), Sender: peer, Key: key, Value: []byte("x"), TTL: 60}
	call(t, raw, n.Contact(), encode(t, st))
	fv.RPCID = protocol.NewRPCID()
	if got := call(t, raw, n.Contact(), encode(t, fv)); got.Type != protocol.TypeValue || string(got.Value) != "x" || got.Key != key {
		t.Fatalf("find value: got %s %q", got.Type, got.Value)
	}
	r, ok, _ := n.Store().Get(key, time.Now())
	if !ok || time.Until(r.Expires) > 61*time.Second {
		t.Fatalf("STORE ttl not honoured: expires in %v", time.Until(r.Expires))
	}
	fn := &protocol.Message{Type: protocol.TypeFindNode, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil), Key: key}
	if got := call(t, raw, n.Contact(), encode(t, fn)); got.Type != protocol.TypeNodes || len(got.Contacts) != 1 || got.Contacts[0].ID != peer {
		t.Fatalf("find node: got %s %v", got.Type, got.Contacts)
	}
}

func TestRequireVerifiedIDsRefusesUnprovenPeers(t *testing.T) {
	n, raw := newMemPair(t, node.Config{RequireVerifiedIDs: true})
	ping := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil)}
	got := call(t, raw, n.Contact(), encode(t, ping))
	if got.Type != protocol.TypeError || got.ErrCode != protocol.CodeUnverified {
		t.Fatalf("got %s code %d, want ERROR %d", got.Type, got.ErrCode, protocol.CodeUnverified)
	}
	if len(n.Contacts()) != 0 {
		t.Fatalf("unverified peer admitted")
	}
}

func TestPutValueTooLarge(t *testing.T) {
	n, _ := newMemPair(t, node.Config{})
	_, err := n.Put(t.Context(), protocol.KeyFromString("big"), make([]byte, protocol.MaxValueSize+1))
	if !errors.Is(err, node.ErrValueTooLarge) {
		t.Fatalf("got %v, want ErrValueTooLarge", err)
	}
}

func TestClosedNode(t *testing.T) {
	n, raw := newMemPair(t, node.Config{})
	other, err := node.New(node.Config{}, raw)
	if err == nil {
		t.Cleanup(func() { other.Close() })
	}
	n.Close()
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := n.Ping(t.Context(), protocol.Contact{Addr: raw.LocalAddr()}); !errors.Is(err, node.ErrClosed) {
		t.Fatalf("ping after close: %v, want ErrClosed", err)
	}
}

// TestRateLimitPerSender: past its burst a sender is refused with ERROR code 3 until its
// bucket refills; another sender is not held back meanwhile.
func TestRateLimitPerSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cluster.New(t, 1, cluster.Options{Config: node.Config{RequestRate: 10, RequestBurst: 5}})
		nw, n := c.Network, c.Nodes[0]
		raw := rawTransport(t, nw)
		ping := func(tr transports.Transport) *protocol.Message {
			m := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil)}
			got := callRaw(t, tr, n.Contact(), encode(t, m))
			if got.RPCID != m.RPCID {
				t.Fatalf("reply rpc id %x, want %x", got.RPCID, m.RPCID)
			}
			return got
		}
		refused := 0
		for range 20 {
			if got := ping(raw); got.Type == protocol.TypeError {
				if got.ErrCode != protocol.CodeRefused {
					t.Fatalf("got ERROR %d, want %d", got.ErrCode, protocol.CodeRefused)
				}
				refused++
			}
		}
		if refused != 15 {
			t.Fatalf("%d of 20 back-to-back pings refused, want 15 (burst 5)", refused)
		}
		other := rawTransport(t, nw)
		if got := ping(other); got.Type != protocol.TypePong {
			t.Fatalf("another sender refused: %s", got.Type)
		}
		time.Sleep(time.Second) // 10 more tokens, capped at the burst of 5
		for i := range 5 {
			if got := ping(raw); got.Type != protocol.TypePong {
				t.Fatalf("ping %d after the refill: %s", i, got.Type)
			}
		}
		if got := ping(raw); got.Type != protocol.TypeError {
			t.Fatalf("sixth ping after the refill: %s, want ERROR", got.Type)
		}
	})
}

// knows reports whether n's routing table holds a contact with this ID.
func knows(n *node.Node, id protocol.ID) bool {
	return slices.ContainsFunc(n.Contacts(), func(c protocol.Contact) bool { return c.ID == id })
}

// TestStoreQuota: a STORE that would pass MaxStoreBytes is refused with ERROR code 3, a
// replacement that fits is taken, and what was stored stays.
func TestStoreQuota(t *testing.T) {
	n, raw := newMemPair(t, node.Config{MaxStoreBytes: 100_000})
	sender := protocol.RandomID(nil)
	store := func(key string, size int) *protocol.Message {
		m := &protocol.Message{Type: protocol.TypeStore, RPCID: protocol.NewRPCID(), Sender: sender,
			Key: protocol.KeyFromString(key), Value: bytes.Repeat([]byte{key[0]}, size)}
		return call(t, raw, n.Contact(), encode(t, m))
	}
	if got := store("a", 60_000); got.Type != protocol.TypeStored {
		t.Fatalf("first store: %s %q", got.Type, got.ErrText)
	}
	if got := store("b", 60_000); got.Type != protocol.TypeError || got.ErrCode != protocol.CodeRefused {
		t.Fatalf("store over the quota: got %s code %d, want ERROR %d", got.Type, got.ErrCode, protocol.CodeRefused)
	}
	if got := store("b", 30_000); got.Type != protocol.TypeStored {
		t.Fatalf("store within the quota: %s %q", got.Type, got.ErrText)
	}
	if got := store("a", 31_000); got.Type != protocol.TypeStored {
		t.Fatalf("replacing a record within the quota: %s %q", got.Type, got.ErrText)
	}
	st := n.Stats()
	if st.StoredRecords != 2 || st.StoredBytes != 31_000+30_000 {
		t.Fatalf("store holds %d records, %d bytes; want 2, 61000", st.StoredRecords, st.StoredBytes)
	}
	r, ok, _ := n.Store().Get(protocol.KeyFromString("b"), time.Now())
	if !ok || len(r.Value) != 30_000 {
		t.Fatalf("record b lost")
	}
}
