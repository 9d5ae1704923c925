package sim

import (
	"slices"
	"testing"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/store"
	"kad/transports"
)

// TestAdversaryTransport: an adversarial node answers FIND_NODE and FIND_VALUE with
// the adversaries closest to the key, leaving out itself and the requester, never with
// a value it holds, and answers STORED to a STORE it drops; a PING reaches the node.
func TestAdversaryTransport(t *testing.T) {
	const liars = 6
	set := &adversaries{}
	ids := make([]protocol.ID, liars+1)
	c := cluster.New(t, liars+1, cluster.Options{
		Join: cluster.JoinNone,
		Configure: func(i int, cfg *node.Config) {
			ids[i] = cfg.ID
		},
		Wrap: func(i int, tr transports.Transport) transports.Transport {
			if i == 0 { // the honest node
				return tr
			}
			return &adversaryTransport{Transport: tr, self: ids[i], k: 3, set: set}
		},
	})
	honest, liar := c.Nodes[0], c.Nodes[1]
	for _, n := range c.Nodes[1:] {
		set.add(n.Contact())
	}
	set.add(honest.Contact()) // to see that the requester is left out
	ctx := t.Context()
	key := protocol.KeyFromString("eclipsed")

	got, err := honest.FindNode(ctx, liar.Contact(), key)
	if err != nil {
		t.Fatal(err)
	}
	var others []protocol.ID
	for _, n := range c.Nodes[2:] {
		others = append(others, n.ID())
	}
	want := closest(others, key, liar.ID(), 3)
	if !slices.Equal(contactIDs(got), want) {
		t.Fatalf("FIND_NODE: %v, want the 3 other adversaries closest to the key %v", contactIDs(got), want)
	}

	if err := liar.Store().Put(store.Record{Key: key, Value: []byte("v"), Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if v, cs, found, err := honest.FindValue(ctx, liar.Contact(), key); err != nil || found || len(cs) != 3 {
		t.Fatalf("FIND_VALUE: value %q, %d contacts, found %v, %v; want 3 contacts and no value", v, len(cs), found, err)
	}
	other := protocol.KeyFromString("dropped")
	if err := honest.StoreAt(ctx, liar.Contact(), other, []byte("v")); err != nil {
		t.Fatalf("STORE: %v, want STORED", err)
	}
	if _, held, _ := liar.Store().Get(other, time.Now()); held {
		t.Fatal("the adversary kept a STORE")
	}
	if _, err := honest.Ping(ctx, liar.Contact()); err != nil {
		t.Fatalf("PING: %v", err)
	}

	set.remove(c.Nodes[2].ID())
	got, err = honest.FindNode(ctx, liar.Contact(), key)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(contactIDs(got), c.Nodes[2].ID()) {
		t.Fatal("an adversary that left is still named")
	}
}

func contactIDs(cs []protocol.Contact) []protocol.ID {
	out := make([]protocol.ID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// TestAdversarial: a run with 30 % of the nodes adversarial and k = 8 (so that each
// lookup starts from few contacts, and the single one is captured now and then), once
// with the single lookup and once over three disjoint paths. Callers and live counts
// are honest, the adversaries' STOREDs are not counted as honest replicas, and the
// disjoint paths fail no more often than the single lookup, at more RPCs.
func TestAdversarial(t *testing.T) {
	var runs [2]*Result
	for j, paths := range []int{1, 3} {
		res := smallRun(t, Config{Nodes: 200, Values: 30, Lookups: 150, Seed: 8, K: 8, Adversarial: 0.3, DisjointPaths: paths})
		if res.Adversaries != 60 || res.Live != 140 || res.DisjointPaths != paths {
			t.Fatalf("%d adversaries, %d live, %d paths; want 60, 140 honest, %d", res.Adversaries, res.Live, res.DisjointPaths, paths)
		}
		if !(res.Put.HonestReplicasMean > 0 && res.Put.HonestReplicasMean < res.Put.ReplicasMean) {
			t.Errorf("%d paths: %.1f honest replicas of %.1f stored", paths, res.Put.HonestReplicasMean, res.Put.ReplicasMean)
		}
		if res.Get.Count != 150 || res.Lookup.Count != 150 {
			t.Errorf("%d paths: %d gets, %d lookups; want 150", paths, res.Get.Count, res.Lookup.Count)
		}
		runs[j] = res
	}
	single, disjoint := runs[0], runs[1]
	t.Logf("gets %.1f%% / %.1f%%, lookups %.1f%% / %.1f%%, RPCs per get %.1f / %.1f (single / disjoint)",
		100*single.Get.SuccessRate, 100*disjoint.Get.SuccessRate, 100*single.Lookup.SuccessRate, 100*disjoint.Lookup.SuccessRate,
		single.Get.RPCsMean, disjoint.Get.RPCsMean)
	if disjoint.Get.Failed+disjoint.Lookup.Failed > single.Get.Failed+single.Lookup.Failed {
		t.Errorf("over disjoint paths %d gets and lookups failed, over one %d", disjoint.Get.Failed+disjoint.Lookup.Failed, single.Get.Failed+single.Lookup.Failed)
	}
	if disjoint.Lookup.RPCsMean <= single.Lookup.RPCsMean {
		t.Errorf("node lookups over 3 paths took %.1f RPCs, the single one %.1f: want more", disjoint.Lookup.RPCsMean, single.Lookup.RPCsMean)
	}
}
