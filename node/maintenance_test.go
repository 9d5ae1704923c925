package node_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
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
		if err := nodes[0].Unpublish(dropped); err != nil {
			t.Fatal(err)
		}
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

// TestRepublishAfterRestart: a node whose published records are kept in a store that
// outlives it (Config.Published, as a data directory's is) goes on republishing them
// after a restart, so they outlive RecordTTL although the node that put them is gone.
func TestRepublishAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := node.Config{K: 3, RecordTTL: 2 * time.Hour, RepublishInterval: time.Hour}
		published := store.NewMemory()
		c := cluster.New(t, 10, cluster.Options{
			Mem: mem.Options{Latency: time.Millisecond}, Config: cfg, Join: cluster.JoinFirst,
			Configure: func(i int, cfg *node.Config) {
				if i == 9 {
					cfg.Published = published
				}
			},
		})
		key := protocol.KeyFromString("kept across a restart")
		if _, err := c.Nodes[9].Put(t.Context(), key, []byte("v")); err != nil {
			t.Fatal(err)
		}
		c.Kill(9)
		again, err := c.Restart(9)
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Bootstrap(t.Context(), c.Nodes[1].Contact()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Hour)
		synctest.Wait()
		if len(holders(c.Nodes, key)) == 0 {
			t.Fatal("record gone after 5 h with a 2 h lifetime: the restarted publisher did not republish it")
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

// TestJoinHandOff: a node that joins receives, from the nodes it is now among the k
// closest to, the records whose keys it is now among the k closest for (paper §2.5),
// by the time its Bootstrap returns — not an hour later through replication — and no
// record it is not responsible for.
func TestJoinHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := node.Config{K: 4}
		c := cluster.New(t, 30, cluster.Options{Mem: mem.Options{Latency: time.Millisecond}, Config: cfg, Seed: 11})
		var keys []protocol.ID
		for i := range 40 {
			key := protocol.KeyFromString(fmt.Sprint("handed off ", i))
			if _, err := c.Nodes[i%30].Put(t.Context(), key, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, key)
		}
		newcomer, err := c.Add()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Join(t.Context(), len(c.Nodes)-1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		responsible, held := 0, 0
		for i, key := range keys {
			_, ok, err := newcomer.Store().Get(key, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			owns := slices.Contains(c.TrueClosest(key, cfg.K, protocol.ID{}), newcomer.ID())
			switch {
			case owns && !ok:
				t.Errorf("key %d: the newcomer is among its %d closest but was not handed it", i, cfg.K)
			case !owns && ok:
				t.Errorf("key %d: the newcomer was handed a record it is not among the %d closest for", i, cfg.K)
			}
			if owns {
				responsible++
			}
			if ok {
				held++
			}
		}
		if responsible == 0 {
			t.Fatal("the newcomer is responsible for no key: the test shows nothing")
		}
		t.Logf("the newcomer holds %d records, and is among the k closest for %d", held, responsible)
	})
}

// TestHandOffProvesTheAddressFirst: a newcomer heard only through its own request —
// whose source address may be forged — is pinged before any record is sent to it; one
// that does not answer gets none.
func TestHandOffProvesTheAddressFirst(t *testing.T) {
	for _, answers := range []bool{false, true} {
		t.Run(fmt.Sprint("answers=", answers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := cluster.New(t, 1, cluster.Options{Config: node.Config{K: 4}})
				n := c.Nodes[0]
				key := protocol.KeyFromString("held")
				if _, err := n.Put(t.Context(), key, []byte("v")); err != nil {
					t.Fatal(err)
				}
				// A peer whose ID is next to the key: it is among the k closest.
				id := key
				id[19] ^= 1
				var mu sync.Mutex
				var got []protocol.Type
				peer, err := c.Network.NewTransport()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { peer.Close() })
				if err := peer.Serve(func(_ context.Context, _ transports.Peer, raw []byte) ([]byte, error) {
					req, err := protocol.Decode(raw)
					if err != nil {
						return nil, err
					}
					mu.Lock()
					got = append(got, req.Type)
					mu.Unlock()
					if !answers {
						return nil, errors.New("not answering")
					}
					return req.Reply(req.Type.ReplyType(), id, netip.AddrPort{}).Encode()
				}); err != nil {
					t.Fatal(err)
				}
				// Without a token: the node pings the requester before it enters the table.
				fn := &protocol.Message{Type: protocol.TypeFindNode, RPCID: protocol.NewRPCID(), Sender: id, Key: id}
				callRaw(t, peer, n.Contact(), encode(t, fn))
				synctest.Wait()
				mu.Lock()
				defer mu.Unlock()
				want := []protocol.Type{protocol.TypePing}
				if answers {
					want = append(want, protocol.TypeStore)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("the newcomer received %v, want %v", got, want)
				}
			})
		})
	}
}
