package node_test

import (
	"testing"
	"testing/synctest"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/transports/mem"
)

func holders(nodes []*node.Node, key protocol.ID) []*node.Node {
	var out []*node.Node
	for _, n := range nodes {
		if _, ok, _ := n.Store().Get(key, time.Now()); ok {
			out = append(out, n)
		}
	}
	return out
}

// TestReplicationRestoresCopies: when half the holders of a record leave, those left
// re-store it at the new k closest within two ReplicateIntervals (the first tick may come
// less than an interval after the STORE, and skips it), so the record keeps k copies.
func TestReplicationRestoresCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := node.Config{K: 8, RPCTimeout: time.Second, ReplicateInterval: time.Hour, RefreshInterval: time.Hour}
		nodes := cluster.New(t, 40, cluster.Options{Mem: mem.Options{Latency: time.Millisecond}, Config: cfg, Join: cluster.JoinFirst}).Nodes
		key := protocol.KeyFromString("survivor")
		if _, err := nodes[0].Put(t.Context(), key, []byte("v")); err != nil {
			t.Fatal(err)
		}
		had := holders(nodes, key)
		if len(had) != cfg.K {
			t.Fatalf("%d holders after put, want %d", len(had), cfg.K)
		}
		// The closest half of the holders leave, the publisher among them if it held a
		// copy (else it stays, but would only republish after 24 h).
		gone := map[*node.Node]bool{}
		for _, h := range sortedByDistance(key, had)[:cfg.K/2] {
			gone[h] = true
			h.Close()
		}
		if !gone[nodes[0]] {
			gone[nodes[0]] = true
			nodes[0].Close()
		}
		var alive []*node.Node
		for _, n := range nodes {
			if !gone[n] {
				alive = append(alive, n)
			}
		}
		time.Sleep(2*time.Hour + time.Minute)
		synctest.Wait()
		// Without replication the k/2 survivors would be all. With it the record is back
		// at about k nodes: a lookup can miss a close node or two while departed nodes
		// still fill others' replies, so allow k-2.
		if got := len(holders(alive, key)); got < cfg.K-2 {
			t.Fatalf("%d live holders two replication rounds later, want at least k-2 = %d", got, cfg.K-2)
		}
		for _, n := range alive {
			if v, err := n.Get(t.Context(), key); err != nil || string(v) != "v" {
				t.Fatalf("get from %s: %q, %v", n.ID().Short(), v, err)
			}
		}
	})
}

// TestRepublishOutlivesTTL: a record lives RecordTTL unless its publisher puts it again;
// the publisher does so every RepublishInterval, so the record outlives RecordTTL.
func TestRepublishOutlivesTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := node.Config{K: 3, RecordTTL: 2 * time.Hour, RepublishInterval: time.Hour}
		nodes := cluster.New(t, 10, cluster.Options{Mem: mem.Options{Latency: time.Millisecond}, Config: cfg, Join: cluster.JoinFirst}).Nodes
		key := protocol.KeyFromString("renewed")
		if _, err := nodes[0].Put(t.Context(), key, []byte("v")); err != nil {
			t.Fatal(err)
		}
		// A record its publisher stopped republishing.
		dropped := protocol.KeyFromString("dropped")
		if _, err := nodes[0].Put(t.Context(), dropped, []byte("d")); err != nil {
			t.Fatal(err)
		}
		nodes[0].Unpublish(dropped)
		// A record nobody republishes, stored straight at one node.
		orphan := protocol.KeyFromString("orphan")
		if err := nodes[1].StoreAt(t.Context(), nodes[2].Contact(), orphan, []byte("o")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Hour)
		synctest.Wait()
		if len(holders(nodes, key)) == 0 {
			t.Fatal("republished record gone after 5 h with a 2 h lifetime")
		}
		if h := holders(nodes, dropped); len(h) != 0 {
			t.Fatalf("unpublished record still held by %d nodes after 5 h with a 2 h lifetime", len(h))
		}
		if h := holders(nodes, orphan); len(h) != 0 {
			t.Fatalf("record stored once still held by %d nodes after 5 h with a 2 h lifetime", len(h))
		}
	})
}

// TestRefreshLooksUpStaleBuckets: a node that made no lookup for RefreshInterval refreshes
// its buckets with lookups of its own.
func TestRefreshLooksUpStaleBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := node.Config{RefreshInterval: time.Hour}
		nodes := cluster.New(t, 20, cluster.Options{Mem: mem.Options{Latency: time.Millisecond}, Config: cfg, Join: cluster.JoinFirst}).Nodes
		before := nodes[5].Stats().Lookups
		time.Sleep(time.Hour + time.Minute)
		synctest.Wait()
		if after := nodes[5].Stats().Lookups; after <= before {
			t.Fatalf("no refresh lookups in an hour: %d lookups before, %d after", before, after)
		}
	})
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
