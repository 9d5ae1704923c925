package node_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
)

// liar wraps a node's transport so that the node answers every FIND_NODE and FIND_VALUE
// with its accomplices, and only them, as an adversary eclipsing a key would; PING and
// STORE still reach the node.
type liar struct {
	transports.Transport
	id protocol.ID

	mu          sync.Mutex
	accomplices []protocol.Contact
}

func (l *liar) setAccomplices(cs []protocol.Contact) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accomplices = cs
}

func (l *liar) Serve(h transports.Handler) error {
	return l.Transport.Serve(func(ctx context.Context, from transports.Peer, raw []byte) ([]byte, error) {
		req, err := protocol.Decode(raw)
		if err != nil || (req.Type != protocol.TypeFindNode && req.Type != protocol.TypeFindValue) {
			return h(ctx, from, raw)
		}
		reply := req.Reply(protocol.TypeNodes, l.id, l.LocalAddr())
		l.mu.Lock()
		for _, c := range l.accomplices {
			if c.ID != l.id && c.ID != req.Sender {
				reply.Contacts = append(reply.Contacts, c)
			}
		}
		l.mu.Unlock()
		return reply.Encode()
	})
}

// requestCounter wraps a node's transport to count the FIND_NODE and FIND_VALUE
// requests it receives, by sender and key.
type requestCounter struct {
	transports.Transport
	mu    sync.Mutex
	count map[[2]protocol.ID]int
}

func (r *requestCounter) Serve(h transports.Handler) error {
	return r.Transport.Serve(func(ctx context.Context, from transports.Peer, raw []byte) ([]byte, error) {
		if req, err := protocol.Decode(raw); err == nil && (req.Type == protocol.TypeFindNode || req.Type == protocol.TypeFindValue) {
			r.mu.Lock()
			if r.count == nil {
				r.count = make(map[[2]protocol.ID]int)
			}
			r.count[[2]protocol.ID{req.Sender, req.Key}]++
			r.mu.Unlock()
		}
		return h(ctx, from, raw)
	})
}

func (r *requestCounter) asked(from, key protocol.ID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[[2]protocol.ID{from, key}]
}

// The nodes of the capture scenario, by index, and their IDs: the target is near zero,
// so a node whose ID has a smaller first byte is closer to it.
const (
	capLooker = iota // 0xf0, knows the adversary 0x20 and the honest 0x30 and 0x40
	capLiar          // 0x20, names its accomplices only
	capAcc1          // 0x12, 0x13, 0x14: its accomplices, who name each other only
	capAcc2
	capAcc3
	capHonest1 // 0x30, knows the holder
	capHonest2 // 0x40, knows the holder
	capHolder  // 0x10, the closest honest node, holds the value
	capNodes
)

var capIDs = [capNodes]byte{0xf0, 0x20, 0x12, 0x13, 0x14, 0x30, 0x40, 0x10}

// TestDisjointPathsResistCapture builds, over the mem transport, a network of real nodes
// in which a node's single lookup is captured: of its three contacts the adversary is
// closest to the target, so it is asked first, and its accomplices, closer still, fill
// the k = 3 closest, answer with each other, and end the lookup before the honest
// contacts are asked. Over two or three disjoint paths the adversary captures only the
// path it was dealt to; another asks an honest contact, finds the holder and its value.
func TestDisjointPathsResistCapture(t *testing.T) {
	tests := []struct {
		paths int
		get   bool // a Get; else a node Lookup
		want  bool // the holder, or its value, found
	}{
		{paths: 0, get: true, want: false},
		{paths: 1, get: true, want: false},
		{paths: 2, get: true, want: true},
		{paths: 3, get: true, want: true},
		{paths: 0, get: false, want: false},
		{paths: 2, get: false, want: true},
		{paths: 3, get: false, want: true},
	}
	for _, tt := range tests {
		op := "lookup"
		if tt.get {
			op = "get"
		}
		t.Run(fmt.Sprintf("%s over %d paths", op, tt.paths), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				target := protocol.ID{19: 1}
				liars := map[int]*liar{}
				c := cluster.New(t, capNodes, cluster.Options{
					Mem:    mem.Options{Latency: time.Millisecond},
					Join:   cluster.JoinNone,
					Config: node.Config{K: 3, Alpha: 1},
					Configure: func(i int, cfg *node.Config) {
						cfg.ID = protocol.ID{capIDs[i]}
						if i == capLooker {
							cfg.DisjointPaths = tt.paths
						}
					},
					Wrap: func(i int, tr transports.Transport) transports.Transport {
						if i < capLiar || i > capAcc3 {
							return tr
						}
						l := &liar{Transport: tr, id: protocol.ID{capIDs[i]}}
						liars[i] = l
						return l
					},
				})
				n := c.Nodes
				var accomplices []protocol.Contact
				for _, i := range []int{capAcc1, capAcc2, capAcc3} {
					accomplices = append(accomplices, n[i].Contact())
				}
				for _, l := range liars {
					l.setAccomplices(accomplices)
				}
				ctx := t.Context()
				for _, h := range []int{capHonest1, capHonest2} {
					if _, err := n[h].Ping(ctx, n[capHolder].Contact()); err != nil {
						t.Fatal(err)
					}
				}
				if err := n[capHonest1].StoreAt(ctx, n[capHolder].Contact(), target, []byte("v")); err != nil {
					t.Fatal(err)
				}
				looker := n[capLooker]
				for _, p := range []int{capLiar, capHonest1, capHonest2} {
					if _, err := looker.Ping(ctx, n[p].Contact()); err != nil {
						t.Fatal(err)
					}
				}

				var found bool
				if tt.get {
					v, err := looker.Get(ctx, target)
					switch {
					case err == nil && string(v) == "v":
						found = true
					case err != nil && !errors.Is(err, node.ErrNotFound):
						t.Fatal(err)
					}
				} else {
					cs, err := looker.Lookup(ctx, target)
					if err != nil {
						t.Fatal(err)
					}
					found = slices.Contains(ids(cs), n[capHolder].ID())
				}
				if found != tt.want {
					t.Fatalf("found the holder: %v, want %v", found, tt.want)
				}
			})
		})
	}
}

// TestDisjointPathsDoNotShareContacts: over the mem transport, in a network where every
// node knows most others, a lookup over three paths never sends two requests to one
// node, and still finds the closest node.
func TestDisjointPathsDoNotShareContacts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const nodes = 60
		counters := make([]*requestCounter, nodes)
		c := cluster.New(t, nodes, cluster.Options{
			Mem:       mem.Options{Latency: time.Millisecond},
			Config:    node.Config{K: 8, Alpha: 2, DisjointPaths: 3},
			JoinPeers: 3,
			Wrap: func(i int, tr transports.Transport) transports.Transport {
				counters[i] = &requestCounter{Transport: tr}
				return counters[i]
			},
		})
		rng := rand.New(rand.NewPCG(11, 12))
		for range 10 {
			from := c.Nodes[rng.IntN(nodes)]
			var target protocol.ID
			for i := range target {
				target[i] = byte(rng.Uint32())
			}
			got, err := from.Lookup(t.Context(), target)
			if err != nil {
				t.Fatal(err)
			}
			asked := 0
			for i, rc := range counters {
				switch n := rc.asked(from.ID(), target); {
				case n > 1:
					t.Fatalf("lookup %s from %s: node %d asked %d times", target.Short(), from.ID().Short(), i, n)
				case n == 1:
					asked++
				}
			}
			if asked <= node.DefaultConfig().Alpha {
				t.Fatalf("lookup %s: %d nodes asked", target.Short(), asked)
			}
			if want := c.TrueClosest(target, 1, from.ID()); len(got) == 0 || got[0].ID != want[0] {
				t.Fatalf("lookup %s: closest %v, want %v first", target.Short(), ids(got), want)
			}
		}
	})
}

func TestDisjointPathsValidate(t *testing.T) {
	tests := []struct {
		k, paths int
		ok       bool
	}{
		{k: 0, paths: 0, ok: true},
		{k: 0, paths: 1, ok: true},
		{k: 0, paths: 3, ok: true},
		{k: 0, paths: protocol.K, ok: true},
		{k: 0, paths: protocol.K + 1},
		{k: 4, paths: 5},
		{k: 0, paths: -1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("k %d, %d paths", tt.k, tt.paths), func(t *testing.T) {
			err := node.Config{K: tt.k, DisjointPaths: tt.paths}.Validate()
			var cerr *node.ConfigError
			switch {
			case tt.ok && err != nil:
				t.Fatalf("got %v, want no error", err)
			case !tt.ok && (!errors.As(err, &cerr) || cerr.Field != "DisjointPaths"):
				t.Fatalf("got %v, want a ConfigError for DisjointPaths", err)
			}
		})
	}
}
