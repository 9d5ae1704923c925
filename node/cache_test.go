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

// TestValueLookupCaches: a value lookup that finds the value stores it at the closest
// node that answered without it (paper §2.3), with a shorter lifetime than the original.
func TestValueLookupCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := node.Config{K: 3, Alpha: 1}
		c := cluster.New(t, 30, cluster.Options{Mem: mem.Options{Latency: time.Millisecond}, Config: cfg, Join: cluster.JoinFirst})
		nodes := c.Nodes
		key := protocol.KeyFromString("popular")
		if _, err := nodes[0].Put(t.Context(), key, []byte("v")); err != nil {
			t.Fatal(err)
		}
		holders := map[protocol.ID]bool{}
		for _, n := range nodes {
			if _, ok, _ := n.Store().Get(key, time.Now()); ok {
				holders[n.ID()] = true
			}
		}
		if len(holders) == 0 || len(holders) > cfg.K {
			t.Fatalf("%d holders after put, want 1..%d", len(holders), cfg.K)
		}
		// A newcomer that knows one node, far from the key and without the value: its
		// lookup hears at least one answer without the value before it finds it.
		var entry *node.Node
		for _, n := range sortedByDistance(key, nodes) {
			if !holders[n.ID()] {
				entry = n
			}
		}
		reader, err := c.Add()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reader.Ping(t.Context(), entry.Contact()); err != nil {
			t.Fatal(err)
		}
		got, err := reader.Get(t.Context(), key)
		if err != nil || string(got) != "v" {
			t.Fatalf("get: %q, %v", got, err)
		}
		// The cache store runs in the background: let virtual time pass for its round trip.
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		cached := 0
		for _, n := range nodes {
			if holders[n.ID()] {
				continue
			}
			if r, ok, _ := n.Store().Get(key, time.Now()); ok {
				cached++
				if ttl := time.Until(r.Expires); ttl > node.DefaultConfig().RecordTTL {
					t.Errorf("cached copy lives %v, longer than an original record", ttl)
				}
			}
		}
		if cached != 1 {
			t.Fatalf("value cached at %d nodes, want 1", cached)
		}
	})
}
