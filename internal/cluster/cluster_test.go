package cluster_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"kad/internal/cluster"
	"kad/internal/transport"
	"kad/node"
	"kad/protocol"
)

func ids(ns []*node.Node) []protocol.ID {
	out := make([]protocol.ID, len(ns))
	for i, n := range ns {
		out[i] = n.ID()
	}
	return out
}

// TestJoinFindsTrueClosest: a joined cluster's lookups find what TrueClosest computes by
// brute force, whichever way its nodes joined.
func TestJoinFindsTrueClosest(t *testing.T) {
	for _, join := range []cluster.Join{cluster.JoinRandom, cluster.JoinFirst} {
		c := cluster.New(t, 30, cluster.Options{Join: join, JoinPeers: 2, Config: node.Config{K: 8}})
		target := protocol.KeyFromString("a target")
		got, err := c.Nodes[3].Lookup(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
		want := c.TrueClosest(target, 8, c.Nodes[3].ID())
		gotIDs := make([]protocol.ID, len(got))
		for i, ct := range got {
			gotIDs[i] = ct.ID
		}
		if !slices.Equal(gotIDs, want) {
			t.Fatalf("join %d: lookup %v, want %v", join, gotIDs, want)
		}
	}
}

// TestSeedGivesIDs: the same seed gives the same IDs, over every transport; another
// seed, others.
func TestSeedGivesIDs(t *testing.T) {
	opts := cluster.Options{Join: cluster.JoinNone, Seed: 7}
	a := ids(cluster.New(t, 3, opts).Nodes)
	opts.Transport = transport.UDP
	b := ids(cluster.New(t, 3, opts).Nodes)
	opts.Seed = 8
	c := ids(cluster.New(t, 3, opts).Nodes)
	if !slices.Equal(a, b) {
		t.Errorf("seed 7 over mem %v, over udp %v", a, b)
	}
	if slices.Equal(a, c) || a[0] == a[1] {
		t.Errorf("seeds 7 and 8 gave %v and %v", a, c)
	}
}

// TestKillPartitionHeal: a killed node stops answering and leaves TrueClosest; a
// partition cuts the groups apart until Heal.
func TestKillPartitionHeal(t *testing.T) {
	c := cluster.New(t, 6, cluster.Options{Config: node.Config{RPCTimeout: 200 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c.Kill(5)
	if len(c.Alive()) != 5 {
		t.Fatalf("%d alive after one kill, want 5", len(c.Alive()))
	}
	if _, err := c.Nodes[0].Ping(ctx, c.Nodes[5].Contact()); err == nil {
		t.Fatal("a killed node answered")
	}
	if slices.Contains(c.TrueClosest(c.Nodes[5].ID(), 6, protocol.ID{}), c.Nodes[5].ID()) {
		t.Fatal("TrueClosest lists a killed node")
	}
	if err := c.Partition([]int{0, 1}, []int{2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Nodes[0].Ping(ctx, c.Nodes[2].Contact()); err == nil {
		t.Fatal("a ping crossed the partition")
	}
	if _, err := c.Nodes[0].Ping(ctx, c.Nodes[1].Contact()); err != nil {
		t.Fatalf("a ping within a group: %v", err)
	}
	if err := c.Heal(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Nodes[0].Ping(ctx, c.Nodes[2].Contact()); err != nil {
		t.Fatalf("a ping after Heal: %v", err)
	}
	udp := cluster.New(t, 1, cluster.Options{Transport: transport.UDP})
	if err := udp.Partition([]int{0}); err == nil {
		t.Fatal("Partition of a UDP cluster succeeded")
	}
}

// TestAddAndJoin: Add starts a node that knows no one until Join.
func TestAddAndJoin(t *testing.T) {
	c := cluster.New(t, 4, cluster.Options{})
	n, err := c.Add()
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Contacts()) != 0 {
		t.Fatalf("an added node knows %d contacts before joining", len(n.Contacts()))
	}
	if _, err := c.Join(t.Context(), 4); err != nil {
		t.Fatal(err)
	}
	if len(n.Contacts()) < 3 {
		t.Fatalf("a joined node knows %d contacts, want at least 3", len(n.Contacts()))
	}
}

func TestStartRefusesUnknownTransport(t *testing.T) {
	if _, err := cluster.Start(t.Context(), 2, cluster.Options{Transport: "tcp"}); err == nil {
		t.Fatal("Start over tcp succeeded")
	}
}

// TestRestart: a killed node comes back with its ID, its address and its records, and
// answers again.
func TestRestart(t *testing.T) {
	for _, tr := range []string{transport.Mem, transport.UDP} {
		t.Run(tr, func(t *testing.T) {
			c := cluster.New(t, 5, cluster.Options{Transport: tr, Config: node.Config{K: 4, RPCTimeout: 500 * time.Millisecond}})
			key := protocol.KeyFromString("kept")
			before := c.Nodes[2]
			if err := c.Nodes[1].StoreAt(t.Context(), before.Contact(), key, []byte("v")); err != nil {
				t.Fatal(err)
			}
			c.Kill(2)
			if _, err := c.Restart(3); err == nil {
				t.Fatal("restarted a node that was not killed")
			}
			after, err := c.Restart(2)
			if err != nil {
				t.Fatal(err)
			}
			if after.ID() != before.ID() || after.Addr() != before.Addr() || c.Nodes[2] != after {
				t.Fatalf("restarted as %s at %v, was %s at %v", after.ID().Short(), after.Addr(), before.ID().Short(), before.Addr())
			}
			if r, ok, err := after.Store().Get(key, time.Now()); !ok || err != nil || string(r.Value) != "v" {
				t.Fatalf("the restarted node lost its record: %q, %v, %v", r.Value, ok, err)
			}
			if _, err := c.Nodes[0].Ping(t.Context(), after.Contact()); err != nil {
				t.Fatalf("the restarted node does not answer: %v", err)
			}
			if len(c.Alive()) != 5 {
				t.Fatalf("%d alive after the restart, want 5", len(c.Alive()))
			}
		})
	}
}
