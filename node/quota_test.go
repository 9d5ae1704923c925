package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/store"
	"kad/transports"
	"kad/transports/mem"
)

// rawAt returns a transport at addr on nw for sending hand-made messages, as rawTransport
// does at an address of the network's choosing.
func rawAt(t *testing.T, nw *mem.Network, addr string) transports.Transport {
	t.Helper()
	raw, err := nw.Listen(netip.MustParseAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Serve(func(_ context.Context, _ transports.Peer, _ []byte) ([]byte, error) {
		return nil, errors.New("not serving")
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// storeVia sends a STORE of size bytes under key from tr to n, and returns the reply.
func storeVia(t *testing.T, tr transports.Transport, n *node.Node, key string, size int, ttl uint32) *protocol.Message {
	t.Helper()
	m := &protocol.Message{Type: protocol.TypeStore, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil),
		Key: protocol.KeyFromString(key), Value: bytes.Repeat([]byte{key[0]}, size), TTL: ttl}
	return call(t, tr, n.Contact(), encode(t, m))
}

// wantStored fails unless got acknowledges a STORE; wantQuota unless it refuses one for
// the sender's quota.
func wantStored(t *testing.T, what string, got *protocol.Message) {
	t.Helper()
	if got.Type != protocol.TypeStored {
		t.Fatalf("%s: got %s code %d %q, want STORED", what, got.Type, got.ErrCode, got.ErrText)
	}
}

func wantQuota(t *testing.T, what string, got *protocol.Message) {
	t.Helper()
	if got.Type != protocol.TypeError || got.ErrCode != protocol.CodeRefused || !bytes.Contains([]byte(got.ErrText), []byte("quota")) {
		t.Fatalf("%s: got %s code %d %q, want ERROR %d naming the sender's quota", what, got.Type, got.ErrCode, got.ErrText, protocol.CodeRefused)
	}
}

// holds fails unless n holds each key with a value of the given size.
func holds(t *testing.T, n *node.Node, sizes map[string]int) {
	t.Helper()
	for key, size := range sizes {
		r, ok, err := n.Store().Get(protocol.KeyFromString(key), time.Time{})
		if err != nil || !ok || len(r.Value) != size {
			t.Errorf("record %q: held %v (%d bytes), want %d bytes", key, ok, len(r.Value), size)
		}
	}
	if got := n.Store().Len(); got != len(sizes) {
		t.Errorf("the store holds %d records, want %d", got, len(sizes))
	}
}

// TestSenderQuotaRecords: a sender at MaxRecordsPerSender is refused a new record, with
// the refusal counted as sender_quota and nothing dropped; it may still replace its own
// records, another sender is not held back, and a replacement by another sender that
// does not grow a record leaves it charged where it was.
func TestSenderQuotaRecords(t *testing.T) {
	c := cluster.New(t, 1, cluster.Options{Config: node.Config{MaxRecordsPerSender: 3}})
	n := c.Nodes[0]
	a, b := rawTransport(t, c.Network), rawTransport(t, c.Network)
	for _, key := range []string{"a1", "a2", "a3"} {
		wantStored(t, key, storeVia(t, a, n, key, 10, 0))
	}
	wantQuota(t, "a fourth record", storeVia(t, a, n, "a4", 10, 0))
	if st := n.Stats(); st.ReceivedOf(protocol.TypeStore, node.ReceivedSenderQuota) != 1 {
		got := st.ReceivedOf(protocol.TypeStore, node.ReceivedSenderQuota)
		t.Errorf("%d STOREs counted as refused for the sender quota, want 1", got)
	}
	wantStored(t, "a replacement of its own", storeVia(t, a, n, "a1", 12, 0))
	wantStored(t, "another sender", storeVia(t, b, n, "b1", 10, 0))
	wantStored(t, "another sender's replica", storeVia(t, b, n, "a2", 10, 0))
	wantQuota(t, "a fourth record after the replica", storeVia(t, a, n, "a4", 10, 0))
	holds(t, n, map[string]int{"a1": 12, "a2": 10, "a3": 10, "b1": 10})
}

// TestSenderQuotaBytes: a sender is refused a record that would take it past
// MaxBytesPerSender, and a growth of its own record that would; growing another
// sender's record charges the whole record to the one that grew it.
func TestSenderQuotaBytes(t *testing.T) {
	c := cluster.New(t, 1, cluster.Options{Config: node.Config{MaxBytesPerSender: 10_000}})
	n := c.Nodes[0]
	a, b := rawTransport(t, c.Network), rawTransport(t, c.Network)
	wantStored(t, "first", storeVia(t, a, n, "a1", 6_000, 0))
	wantQuota(t, "past the bytes", storeVia(t, a, n, "a2", 6_000, 0))
	wantStored(t, "within the bytes", storeVia(t, a, n, "a2", 4_000, 0))
	wantQuota(t, "growing its own past the bytes", storeVia(t, a, n, "a1", 6_001, 0))
	wantStored(t, "another sender", storeVia(t, b, n, "b1", 5_000, 0))
	// b grows a2 to 4,001 bytes: it is charged them all, on top of its 5,000, and a is
	// freed of its 4,000.
	wantStored(t, "another sender grows a record", storeVia(t, b, n, "a2", 4_001, 0))
	wantQuota(t, "the grower past its bytes", storeVia(t, b, n, "b2", 1_000, 0))
	wantStored(t, "the freed sender", storeVia(t, a, n, "a3", 4_000, 0))
	if st := n.Stats(); st.ReceivedOf(protocol.TypeStore, node.ReceivedSenderQuota) != 3 {
		got := st.ReceivedOf(protocol.TypeStore, node.ReceivedSenderQuota)
		t.Errorf("%d STOREs counted as refused for the sender quota, want 3", got)
	}
	holds(t, n, map[string]int{"a1": 6_000, "a2": 4_001, "a3": 4_000, "b1": 5_000})
}

// TestSenderQuotaExpiry: a sender's expired records, once swept, no longer count.
func TestSenderQuotaExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cluster.New(t, 1, cluster.Options{Config: node.Config{MaxRecordsPerSender: 2}})
		n := c.Nodes[0]
		a := rawTransport(t, c.Network)
		wantStored(t, "short-lived", storeVia(t, a, n, "a1", 10, 60))
		wantStored(t, "long-lived", storeVia(t, a, n, "a2", 10, 0))
		wantQuota(t, "a third", storeVia(t, a, n, "a3", 10, 0))
		time.Sleep(3 * time.Minute) // a1 expires, and a sweep removes it
		synctest.Wait()
		wantStored(t, "after the expiry", storeVia(t, a, n, "a3", 10, 0))
		wantQuota(t, "a fourth", storeVia(t, a, n, "a4", 10, 0))
		holds(t, n, map[string]int{"a2": 10, "a3": 10})
	})
}

// TestSenderQuotaRestart: the records a persistent store held when the node started are
// charged to no one: the sender that stored them starts again with its full quota, and
// replacing them charges it nothing.
func TestSenderQuotaRestart(t *testing.T) {
	s := store.NewMemory()
	c := cluster.New(t, 1, cluster.Options{Config: node.Config{MaxRecordsPerSender: 2, Store: s}})
	a := rawTransport(t, c.Network)
	wantStored(t, "a1", storeVia(t, a, c.Nodes[0], "a1", 10, 0))
	wantStored(t, "a2", storeVia(t, a, c.Nodes[0], "a2", 10, 0))
	c.Kill(0)
	n, err := c.Restart(0)
	if err != nil {
		t.Fatal(err)
	}
	wantStored(t, "a replacement after the restart", storeVia(t, a, n, "a1", 10, 0))
	wantStored(t, "a3", storeVia(t, a, n, "a3", 10, 0))
	wantStored(t, "a4", storeVia(t, a, n, "a4", 10, 0))
	wantQuota(t, "a5", storeVia(t, a, n, "a5", 10, 0))
	holds(t, n, map[string]int{"a1": 10, "a2": 10, "a3": 10, "a4": 10})
}

// TestSenderIsHostOrSocket: two sockets of one private IP are two senders; with
// SubnetLimitsEverywhere, they are one, as two sockets of a public IP are.
func TestSenderIsHostOrSocket(t *testing.T) {
	for _, everywhere := range []bool{false, true} {
		t.Run(fmt.Sprint("everywhere=", everywhere), func(t *testing.T) {
			c := cluster.New(t, 1, cluster.Options{Config: node.Config{MaxRecordsPerSender: 1, SubnetLimitsEverywhere: everywhere}})
			n := c.Nodes[0]
			wantStored(t, "first socket", storeVia(t, rawAt(t, c.Network, "127.0.0.1:5001"), n, "a", 10, 0))
			got := storeVia(t, rawAt(t, c.Network, "127.0.0.1:5002"), n, "b", 10, 0)
			if everywhere {
				wantQuota(t, "second socket, one sender", got)
			} else {
				wantStored(t, "second socket, another sender", got)
			}
			wantStored(t, "another IP", storeVia(t, rawAt(t, c.Network, "127.0.0.2:5001"), n, "c", 10, 0))
		})
	}
}

// TestSubnetLimitsEverywhere: with SubnetLimitsEverywhere, the node's routing table takes
// at most MaxPerSubnetTable contacts of one loopback /24; without it, all of them.
func TestSubnetLimitsEverywhere(t *testing.T) {
	for _, everywhere := range []bool{false, true} {
		t.Run(fmt.Sprint("everywhere=", everywhere), func(t *testing.T) {
			c := cluster.New(t, 1, cluster.Options{Config: node.Config{SubnetLimitsEverywhere: everywhere}})
			n := c.Nodes[0]
			const peers = 15
			for i := range peers {
				raw := rawAt(t, c.Network, fmt.Sprintf("127.0.0.%d:4000", i+1))
				ping := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil)}
				if got := call(t, raw, n.Contact(), encode(t, ping)); got.Type != protocol.TypePong {
					t.Fatalf("ping %d: got %s", i, got.Type)
				}
			}
			want := peers
			if everywhere {
				want = node.DefaultConfig().MaxPerSubnetTable
			}
			if got := len(n.Contacts()); got > want || (!everywhere && got != want) {
				t.Fatalf("%d contacts of 127.0.0.0/24 in the table, want %d", got, want)
			}
		})
	}
}

// TestMaxPublished: past MaxPublished records, Put of a new key fails with
// ErrPublishedFull before sending anything; a replacement still goes, and Unpublish frees
// a place.
func TestMaxPublished(t *testing.T) {
	c := cluster.New(t, 3, cluster.Options{Config: node.Config{MaxPublished: 2}})
	n := c.Nodes[0]
	for _, key := range []string{"p1", "p2"} {
		if _, err := n.Put(t.Context(), protocol.KeyFromString(key), []byte("v")); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	sent := n.Stats().RequestsSent
	_, err := n.Put(t.Context(), protocol.KeyFromString("p3"), []byte("v"))
	if !errors.Is(err, node.ErrPublishedFull) {
		t.Fatalf("put past MaxPublished: %v, want ErrPublishedFull", err)
	}
	if got := n.Stats().RequestsSent; got != sent {
		t.Errorf("a refused put sent %d requests, want none", got-sent)
	}
	if _, err := n.Put(t.Context(), protocol.KeyFromString("p1"), []byte("w")); err != nil {
		t.Fatalf("replacing a published record: %v", err)
	}
	if err := n.Unpublish(protocol.KeyFromString("p2")); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Put(t.Context(), protocol.KeyFromString("p3"), []byte("v")); err != nil {
		t.Fatalf("put after Unpublish: %v", err)
	}
}
