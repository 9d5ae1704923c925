package node_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"kad/node"
	"kad/protocol"
	"kad/transports"
)

// transportKind makes transports of one kind for cluster tests.
type transportKind struct {
	name string
	// nodes is how many nodes the full cluster tests start on this kind.
	nodes int
	// newTransport returns a fresh transport listening on loopback (or the mem network
	// made by setup); setup is called once per cluster.
	setup func(t testing.TB) func(t testing.TB) transports.Transport
}

// cluster is a set of running nodes, all stopped when the test ends.
type cluster struct {
	t     testing.TB
	nodes []*node.Node
}

// newCluster starts n nodes on kind, each joining through a random earlier node.
// Unless cfg says otherwise, requests time out after a generous 5 s: the race detector on
// a loaded 2-core machine can stretch a loopback round trip past the default second, and
// in a healthy cluster no request should time out at all.
func newCluster(t testing.TB, kind transportKind, n int, cfg node.Config) *cluster {
	t.Helper()
	if cfg.RPCTimeout == 0 {
		cfg.RPCTimeout = 5 * time.Second
	}
	newTransport := kind.setup(t)
	c := &cluster{t: t}
	t.Cleanup(c.close)
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range n {
		nd, err := node.New(cfg, newTransport(t))
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		c.nodes = append(c.nodes, nd)
		if i == 0 {
			continue
		}
		seed := c.nodes[rng.IntN(i)]
		if err := nd.Bootstrap(ctx, seed.Contact()); err != nil {
			t.Fatalf("node %d bootstrap: %v", i, err)
		}
	}
	return c
}

func (c *cluster) close() {
	for _, n := range c.nodes {
		n.Close()
	}
}

// trueClosest returns the k node IDs closest to target among every node of the cluster
// except skip, by brute force.
func (c *cluster) trueClosest(target protocol.ID, k int, skip protocol.ID) []protocol.ID {
	var ids []protocol.ID
	for _, n := range c.nodes {
		if n.ID() != skip {
			ids = append(ids, n.ID())
		}
	}
	slices.SortFunc(ids, func(a, b protocol.ID) int { return target.CmpDistance(a, b) })
	return ids[:min(k, len(ids))]
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
			c := newCluster(t, kind, kind.nodes, node.Config{})
			rng := rand.New(rand.NewPCG(3, 4))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const values = 5
			keys := make([]protocol.ID, values)
			for i := range keys {
				keys[i] = protocol.KeyFromString(fmt.Sprintf("%s-key-%d", kind.name, i))
				from := c.nodes[rng.IntN(len(c.nodes))]
				stored, err := from.Put(ctx, keys[i], []byte(fmt.Sprintf("value %d", i)))
				if err != nil {
					t.Fatalf("put %d: %v", i, err)
				}
				if stored < node.DefaultConfig().K/2 {
					t.Errorf("put %d stored on %d nodes, want about k=%d", i, stored, node.DefaultConfig().K)
				}
			}
			for _, n := range c.nodes {
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
			if _, err := c.nodes[0].Get(ctx, protocol.KeyFromString("never stored")); !errorsIsNotFound(err) {
				t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestClusterLookupFindsTrueClosest(t *testing.T) {
	for _, kind := range transportKinds {
		t.Run(kind.name, func(t *testing.T) {
			c := newCluster(t, kind, kind.nodes, node.Config{})
			rng := rand.New(rand.NewPCG(5, 6))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			k := node.DefaultConfig().K
			for range 20 {
				target := protocol.RandomID(nil)
				from := c.nodes[rng.IntN(len(c.nodes))]
				got, err := from.Lookup(ctx, target)
				if err != nil {
					t.Fatalf("lookup: %v", err)
				}
				want := c.trueClosest(target, k, from.ID())
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
	c := newCluster(b, transportKinds[0], 200, node.Config{})
	rng := rand.New(rand.NewPCG(9, 9))
	targets := make([]protocol.ID, 1024)
	for i := range targets {
		targets[i] = protocol.RandomID(nil)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		from := c.nodes[rng.IntN(len(c.nodes))]
		if _, err := from.Lookup(ctx, targets[i%len(targets)]); err != nil {
			b.Fatal(err)
		}
	}
}
