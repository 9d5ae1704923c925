package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"kad/protocol"
)

// benchNetwork is a scripted network for benchmarks of the engine alone: contacts at
// random IDs, each answering at once with k contacts a quarter of its own rank from the
// target, so that a lookup from far away converges in a few rounds as on a real network.
type benchNetwork struct {
	target  protocol.ID
	byRank  []protocol.Contact // closest to target first
	rank    map[protocol.ID]int
	replies [][]protocol.Contact // by rank
}

func newBenchNetwork(n, k int) *benchNetwork {
	rng := rand.New(rand.NewPCG(1, 2))
	b := &benchNetwork{rank: make(map[protocol.ID]int, n)}
	for i := range n {
		var id protocol.ID
		for j := 0; j < len(id); j += 4 {
			binary.BigEndian.PutUint32(id[j:], rng.Uint32())
		}
		c := contactAt(byte(i))
		c.ID = id
		b.byRank = append(b.byRank, c)
	}
	b.target = b.byRank[0].ID
	b.target[19] ^= 1 // not a contact's ID
	slices.SortFunc(b.byRank, func(x, y protocol.Contact) int { return b.target.CmpDistance(x.ID, y.ID) })
	b.replies = make([][]protocol.Contact, n)
	for r, c := range b.byRank {
		b.rank[c.ID] = r
		from := r / 4
		b.replies[r] = b.byRank[from:min(from+k, n)]
	}
	return b
}

func (b *benchNetwork) query(_ context.Context, c protocol.Contact) queryReply {
	return queryReply{contacts: b.replies[b.rank[c.ID]]}
}

// BenchmarkRunLookup measures the engine alone, over replies that cost nothing: its
// goroutines, channel, timer and shortlist.
func BenchmarkRunLookup(b *testing.B) {
	const k = protocol.K
	net := newBenchNetwork(2000, k)
	p := lookupParams{
		target: net.target, seeds: net.byRank[1600 : 1600+k], k: k, alpha: protocol.Alpha,
		straggler: time.Second, timeout: 2 * time.Second, query: net.query,
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := runLookup(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunDisjointLookup is BenchmarkRunLookup over three disjoint paths.
func BenchmarkRunDisjointLookup(b *testing.B) {
	const k = protocol.K
	net := newBenchNetwork(2000, k)
	p := lookupParams{
		target: net.target, seeds: net.byRank[1600 : 1600+k], k: k, alpha: protocol.Alpha,
		straggler: time.Second, timeout: 2 * time.Second, query: net.query,
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := runDisjointLookup(ctx, p, 3); err != nil {
			b.Fatal(err)
		}
	}
}

// captureNetwork is a network with adversaries, for the target 0: seed 20 and its
// accomplices 12, 13 and 14 name only the accomplices, who claim to be closer to the
// target than anyone else the lookup knows; honest seeds 30 and 40 both know 10, the
// closest node, which holds the value when value is not empty.
func captureNetwork(value string) map[byte]peer {
	const rtt = 10 * time.Millisecond
	liars := []byte{12, 13, 14}
	return map[byte]peer{
		20: {delay: rtt, knows: liars},
		12: {delay: rtt, knows: liars}, 13: {delay: rtt, knows: liars}, 14: {delay: rtt, knows: liars},
		30: {delay: rtt, knows: []byte{10}}, 40: {delay: rtt, knows: []byte{10}},
		10: {delay: rtt, knows: []byte{30, 40}, value: value},
	}
}

// TestDisjointLookupResistsCapture: the single lookup asks the adversary first (it is the
// closest seed), takes its accomplices for the k closest, and ends without asking anyone
// honest; over two or three paths, the adversary captures only the path it was dealt to,
// and another finds the closest node and its value.
func TestDisjointLookupResistsCapture(t *testing.T) {
	tests := []struct {
		name  string
		paths int
		value string // a value lookup; empty: a node lookup
		// want
		found   bool
		closest []byte
	}{
		{name: "one path, value lookup", paths: 1, value: "v", closest: []byte{12, 13, 14}},
		{name: "two paths, value lookup", paths: 2, value: "v", found: true},
		{name: "three paths, value lookup", paths: 3, value: "v", found: true},
		{name: "one path, node lookup", paths: 1, closest: []byte{12, 13, 14}},
		{name: "two paths, node lookup", paths: 2, closest: []byte{10, 12, 13}},
		{name: "three paths, node lookup", paths: 3, closest: []byte{10, 12, 13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{peers: captureNetwork(tt.value)}
				res, err := runDisjointLookup(t.Context(), lookupParams{
					target: protocol.ID{}, self: protocol.ID{0xff}, seeds: contactsAt(40, 20, 30),
					k: 3, alpha: 1, straggler: time.Second, timeout: 2 * time.Second, query: s.query,
				}, tt.paths)
				if err != nil {
					t.Fatal(err)
				}
				if res.found != tt.found || (tt.found && string(res.value) != tt.value) {
					t.Fatalf("found %v %q, want found %v; asked %v", res.found, res.value, tt.found, s.asked)
				}
				if !tt.found && !slices.Equal(firstBytes(res.closest), tt.closest) {
					t.Fatalf("closest %v, want %v; asked %v", firstBytes(res.closest), tt.closest, s.asked)
				}
				if tt.paths == 1 && (s.wasAsked(30) || s.wasAsked(40) || s.wasAsked(10)) {
					t.Fatalf("asked %v: the single lookup was not captured", s.asked)
				}
				if res.rpcs != len(s.asked) {
					t.Fatalf("%d RPCs counted, %d sent", res.rpcs, len(s.asked))
				}
			})
		})
	}
}

// TestDisjointLookupAsksEachContactOnce: in a network where many contacts are known to
// several others, the paths never ask one contact twice between them, and the result
// is the k closest that answered, closest first.
func TestDisjointLookupAsksEachContactOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	peers := map[byte]peer{}
	for d := byte(1); d <= 60; d++ {
		var knows []byte
		for range 12 {
			knows = append(knows, byte(1+rng.IntN(60)))
		}
		peers[d] = peer{delay: time.Duration(1+rng.IntN(20)) * time.Millisecond, knows: knows}
	}
	for _, paths := range []int{1, 2, 3, 4, 8} {
		t.Run(fmt.Sprintf("%d paths", paths), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{peers: peers}
				res, err := runDisjointLookup(t.Context(), lookupParams{
					target: protocol.ID{}, self: protocol.ID{0xff}, seeds: contactsAt(41, 43, 45, 47, 49, 51, 53, 55),
					k: 8, alpha: 2, straggler: time.Second, timeout: 2 * time.Second, query: s.query,
				}, paths)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[byte]bool{}
				for _, d := range s.asked {
					if seen[d] {
						t.Fatalf("contact %d asked twice; asked %v", d, s.asked)
					}
					seen[d] = true
				}
				if res.rpcs != len(s.asked) {
					t.Fatalf("%d RPCs counted, %d sent", res.rpcs, len(s.asked))
				}
				got := firstBytes(res.closest)
				if len(got) != 8 || !slices.IsSorted(got) {
					t.Fatalf("closest %v, want 8 distinct contacts, closest first", got)
				}
				for i := 1; i < len(got); i++ {
					if got[i] == got[i-1] {
						t.Fatalf("closest %v holds %d twice", got, got[i])
					}
				}
				for _, d := range got {
					if !seen[d] {
						t.Fatalf("closest %v holds %d, which was not asked", got, d)
					}
				}
				t.Logf("%d paths: %d RPCs, closest %v", paths, res.rpcs, got)
			})
		})
	}
}

// TestDisjointValueLookupEndsAtFirstValue: the path that finds the value ends the
// lookup; the others' requests are abandoned, not waited for nor counted as timeouts.
func TestDisjointValueLookupEndsAtFirstValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 10 * time.Millisecond
		s := &script{peers: map[byte]peer{
			10: {silent: true},
			20: {delay: rtt, value: "v"},
		}}
		var timedOut int
		start := time.Now()
		res, err := runDisjointLookup(t.Context(), lookupParams{
			target: protocol.ID{}, seeds: contactsAt(10, 20), k: 4, alpha: 1,
			straggler: time.Second, timeout: 2 * time.Second, query: s.query,
			timedOut: func(protocol.Contact) { timedOut++ },
		}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !res.found || string(res.value) != "v" {
			t.Fatalf("found %v %q, want \"v\"", res.found, res.value)
		}
		if took := time.Since(start); took != rtt {
			t.Fatalf("took %v of virtual time, want %v", took, rtt)
		}
		if res.timeouts != 0 || timedOut != 0 || res.rpcs != 2 {
			t.Fatalf("%d timeouts (%d reported), %d RPCs; want 0, 0, 2", res.timeouts, timedOut, res.rpcs)
		}
	})
}

// TestDisjointLookupFewSeeds: with fewer seeds than paths, each seed starts a path of
// its own.
func TestDisjointLookupFewSeeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{peers: map[byte]peer{
			30: {delay: time.Millisecond, knows: []byte{10}}, 40: {delay: time.Millisecond, knows: []byte{10, 20}},
			10: {delay: time.Millisecond}, 20: {delay: time.Millisecond},
		}}
		res, err := runDisjointLookup(t.Context(), lookupParams{
			target: protocol.ID{}, seeds: contactsAt(30, 40), k: 4, alpha: 3,
			straggler: time.Second, timeout: 2 * time.Second, query: s.query,
		}, 5)
		if err != nil {
			t.Fatal(err)
		}
		if got := firstBytes(res.closest); !slices.Equal(got, []byte{10, 20, 30, 40}) {
			t.Fatalf("closest %v, want [10 20 30 40]", got)
		}
	})
}

// TestDisjointLookupCanceled: a canceled lookup returns the context's error, with its
// counts, once every path's queries have ended.
func TestDisjointLookupCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var running sync.WaitGroup
		var mu sync.Mutex
		ended := 0
		query := func(ctx context.Context, c protocol.Contact) queryReply {
			running.Done()
			<-ctx.Done()
			mu.Lock()
			ended++
			mu.Unlock()
			return queryReply{err: ctx.Err()}
		}
		running.Add(4) // two paths, alpha 2
		go func() {
			running.Wait()
			cancel()
		}()
		res, err := runDisjointLookup(ctx, lookupParams{
			target: protocol.ID{}, seeds: contactsAt(1, 2, 3, 4, 5, 6), k: 4, alpha: 2,
			straggler: time.Hour, timeout: 2 * time.Hour, query: query,
		}, 2)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if res == nil || res.rpcs != 4 {
			t.Fatalf("result %+v, want one with 4 requests counted", res)
		}
		mu.Lock()
		defer mu.Unlock()
		if ended != 4 {
			t.Fatalf("%d of 4 queries ended when the lookup returned", ended)
		}
	})
}
