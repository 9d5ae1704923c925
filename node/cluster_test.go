package node_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"kad/internal/cluster"
	"kad/internal/transport"
	"kad/node"
	"kad/protocol"
)

// transportKinds lists every transport the cluster scenarios run over: the same node code
// over memory, UDP and QUIC, with how many nodes each scenario starts.
var transportKinds = []struct {
	name  string
	nodes int
}{
	{transport.Mem, 200},
	{transport.UDP, 50},
	{transport.QUIC, 50},
}

func ids(cs []protocol.Contact) []protocol.ID {
	out := make([]protocol.ID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestClusterPutGetEverywhere(t *testing.T) {
	for _, kind := range transportKinds {
		t.Run(kind.name, func(t *testing.T) {
			c := cluster.New(t, kind.nodes, cluster.Options{Transport: kind.name})
			rng := rand.New(rand.NewPCG(3, 4))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const values = 5
			keys := make([]protocol.ID, values)
			for i := range keys {
				keys[i] = protocol.KeyFromString(fmt.Sprintf("%s-key-%d", kind.name, i))
				from := c.Nodes[rng.IntN(len(c.Nodes))]
				stored, err := from.Put(ctx, keys[i], []byte(fmt.Sprintf("value %d", i)))
				if err != nil {
					t.Fatalf("put %d: %v", i, err)
				}
				if stored < node.DefaultConfig().K/2 {
					t.Errorf("put %d stored on %d nodes, want about k=%d", i, stored, node.DefaultConfig().K)
				}
			}
			for _, n := range c.Nodes {
				for i, key := range keys {
					got, err := n.Get(ctx, key)
					if err != nil {
						t.Fatalf("node %s get %d: %v", n.ID().Short(), i, err)
					}
					if want := fmt.Sprintf("value %d", i); string(got) != want {
						t.Fatalf("node %s get %d: %q, want %q", n.ID().Short(), i, got, want)
					}
				}
			}
			if _, err := c.Nodes[0].Get(ctx, protocol.KeyFromString("never stored")); !errorsIsNotFound(err) {
				t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestClusterLookupFindsTrueClosest(t *testing.T) {
	for _, kind := range transportKinds {
		t.Run(kind.name, func(t *testing.T) {
			c := cluster.New(t, kind.nodes, cluster.Options{Transport: kind.name})
			rng := rand.New(rand.NewPCG(5, 6))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			k := node.DefaultConfig().K
			for range 20 {
				target := protocol.RandomID(nil)
				from := c.Nodes[rng.IntN(len(c.Nodes))]
				got, err := from.Lookup(ctx, target)
				if err != nil {
					t.Fatalf("lookup: %v", err)
				}
				want := c.TrueClosest(target, k, from.ID())
				if !slices.Equal(ids(got), want) {
					t.Fatalf("lookup %s from %s: got %d contacts\n%v\nwant\n%v", target.Short(), from.ID().Short(), len(got), ids(got), want)
				}
			}
		})
	}
}

// BenchmarkLookup measures one iterative FIND_NODE on a 200-node mem cluster with no
// latency: the cost of the lookup engine, the codec and the handlers, without a network.
func BenchmarkLookup(b *testing.B) {
	c := cluster.New(b, 200, cluster.Options{})
	rng := rand.New(rand.NewPCG(9, 9))
	targets := make([]protocol.ID, 1024)
	for i := range targets {
		targets[i] = protocol.RandomID(nil)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		from := c.Nodes[rng.IntN(len(c.Nodes))]
		if _, err := from.Lookup(ctx, targets[i%len(targets)]); err != nil {
			b.Fatal(err)
		}
	}
}
