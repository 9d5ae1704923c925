package node_test

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
)

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

// TestExpiredRecordsRemoved: records past their lifetime stop being served at once and
// leave the store within SweepInterval.
func TestExpiredRecordsRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cluster.New(t, 2, cluster.Options{Config: node.Config{SweepInterval: time.Minute}, Join: cluster.JoinFirst})
		nodes, nw := c.Nodes, c.Network
		key := protocol.KeyFromString("short-lived")
		raw := rawTransport(t, nw)
		m := &protocol.Message{Type: protocol.TypeStore, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil),
			Key: key, Value: []byte("v"), TTL: 90}
		if got := call(t, raw, nodes[0].Contact(), encode(t, m)); got.Type != protocol.TypeStored {
			t.Fatalf("store: %s", got.Type)
		}
		long := protocol.KeyFromString("long-lived")
		if _, err := nodes[1].Put(t.Context(), long, []byte("w")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(91 * time.Second)
		if _, ok, _ := nodes[0].Store().Get(key, time.Now()); ok {
			t.Fatal("expired record still served")
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := nodes[0].Stats().StoredRecords; got != 1 {
			t.Fatalf("%d records after expiry, want 1 (the long-lived one)", got)
		}
		if v, err := nodes[0].Get(t.Context(), long); err != nil || string(v) != "w" {
			t.Fatalf("long-lived record: %q, %v", v, err)
		}
	})
}
