package node

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"kad/protocol"
)

// The lookup engine against scripted replies, in virtual time: no network, no node.
// The target is the zero ID, and contact d is the ID whose first byte is d, so contact d
// is closer to the target than contact d+1.

func contactAt(d byte) protocol.Contact {
	return protocol.Contact{ID: protocol.ID{d}, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, d}), 4000)}
}

func contactsAt(ds ...byte) []protocol.Contact {
	out := make([]protocol.Contact, len(ds))
	for i, d := range ds {
		out[i] = contactAt(d)
	}
	return out
}

// peer is how one scripted contact answers.
type peer struct {
	delay  time.Duration // before it answers
	silent bool          // never answers (until the lookup gives up on it)
	fail   bool          // answers with an error
	knows  []byte        // the contacts it returns
	value  string        // the value it holds, if not empty
}

// script answers queries from a table of peers and records what was asked.
type script struct {
	peers map[byte]peer

	mu          sync.Mutex
	asked       []byte
	inFlight    int
	maxInFlight int
}

func (s *script) query(ctx context.Context, c protocol.Contact) queryReply {
	d := c.ID[0]
	p := s.peers[d]
	s.mu.Lock()
	s.asked = append(s.asked, d)
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	wait := p.delay
	if p.silent {
		wait = 24 * time.Hour
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return queryReply{err: ctx.Err()}
	}
	switch {
	case p.fail:
		return queryReply{err: errors.New("scripted failure")}
	case p.value != "":
		return queryReply{value: []byte(p.value), found: true}
	}
	return queryReply{contacts: contactsAt(p.knows...)}
}

func (s *script) wasAsked(d byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.asked, d)
}

func firstBytes(cs []protocol.Contact) []byte {
	out := make([]byte, len(cs))
	for i, c := range cs {
		out[i] = c.ID[0]
	}
	return out
}

func TestRunLookup(t *testing.T) {
	const (
		straggler = 100 * time.Millisecond
		timeout   = time.Second
		rtt       = 10 * time.Millisecond
	)
	tests := []struct {
		name  string
		k     int
		alpha int
		seeds []byte
		peers map[byte]peer
		// want
		closest     []byte
		found       string
		cacheAt     byte // 0: none
		cacheCloser int
		asked       []byte // each must have been asked
		notAsked    []byte // none of these may have been asked
		timedOut    []byte // reported to timedOut, in any order
		lastRound   bool
		maxInFlight int // at most this many requests out at once; 0: alpha
		longest     time.Duration
		rounds      int
		hops        int // 0: as rounds
	}{
		{
			name: "converges on the closest through referrals",
			k:    3, alpha: 2, seeds: []byte{40, 50},
			peers: map[byte]peer{
				40: {delay: rtt, knows: []byte{20, 30}},
				50: {delay: rtt, knows: []byte{30}},
				20: {delay: rtt, knows: []byte{10}},
				30: {delay: rtt, knows: []byte{20}},
				10: {delay: rtt, knows: []byte{20, 30}},
			},
			closest: []byte{10, 20, 30},
			// 40 and 50 were asked first: the seeds are all there is at the start.
			asked:   []byte{40, 50, 10, 20, 30},
			longest: 3 * rtt,
			rounds:  3, // seed 40 → 20 → 10
		},
		{
			name: "ends when the k closest have answered, never asking farther ones",
			k:    2, alpha: 1, seeds: []byte{10, 20, 30, 40},
			peers: map[byte]peer{
				10: {delay: rtt}, 20: {delay: rtt}, 30: {delay: rtt}, 40: {delay: rtt},
			},
			closest:  []byte{10, 20},
			notAsked: []byte{30, 40},
			longest:  2 * rtt,
			rounds:   1,
		},
		{
			name: "the last round: alpha answers bring nothing closer, so all of the k closest are asked",
			k:    8, alpha: 3, seeds: []byte{1, 2, 3, 4, 5, 6, 7, 8},
			peers: map[byte]peer{
				1: {delay: rtt}, 2: {delay: rtt}, 3: {delay: rtt}, 4: {delay: rtt},
				5: {delay: rtt}, 6: {delay: rtt}, 7: {delay: rtt}, 8: {delay: rtt},
			},
			closest: []byte{1, 2, 3, 4, 5, 6, 7, 8},
			// 3 at first; their answers name no one, so the other 5 at once.
			lastRound:   true,
			maxInFlight: 5,
			longest:     2 * rtt,
			rounds:      1,
		},
		{
			name: "without the last round, alpha requests in flight, no more",
			k:    8, alpha: 3, seeds: []byte{1, 2, 3, 4, 5, 6, 7, 8},
			peers: map[byte]peer{
				1: {delay: rtt}, 2: {delay: rtt}, 3: {delay: rtt}, 4: {delay: rtt},
				5: {delay: rtt}, 6: {delay: rtt}, 7: {delay: rtt}, 8: {delay: rtt},
			},
			closest:     []byte{1, 2, 3, 4, 5, 6, 7, 8},
			maxInFlight: 3,
			longest:     3 * rtt, // 8 requests, 3 at a time
			rounds:      1,
		},
		{
			name:      "alpha at a time while answers bring closer contacts",
			lastRound: true,
			k:         3, alpha: 1, seeds: []byte{60, 70, 80},
			peers: map[byte]peer{
				// Each answer names a closer contact, so the last round never starts
				// until 10, the closest, has answered.
				60: {delay: rtt, knows: []byte{50}}, 50: {delay: rtt, knows: []byte{40}},
				40: {delay: rtt, knows: []byte{30}}, 30: {delay: rtt, knows: []byte{20}},
				20: {delay: rtt, knows: []byte{10}}, 10: {delay: rtt},
				70: {delay: rtt}, 80: {delay: rtt},
			},
			closest:     []byte{10, 20, 30},
			notAsked:    []byte{70, 80},
			maxInFlight: 1,
			longest:     6 * rtt,
			rounds:      6,
		},
		{
			name: "a straggler stops counting against alpha",
			k:    2, alpha: 1, seeds: []byte{10, 20},
			peers: map[byte]peer{
				// 10 answers late, after the straggler delay but before the timeout;
				// meanwhile 20 is asked and answers, and the lookup still waits for 10,
				// which is among the k closest.
				10: {delay: 3 * straggler}, 20: {delay: rtt},
			},
			closest:     []byte{10, 20},
			maxInFlight: 2,
			longest:     3 * straggler,
			rounds:      1,
		},
		{
			name: "a straggler outside the k closest does not hold the lookup",
			k:    2, alpha: 1, seeds: []byte{40, 50},
			peers: map[byte]peer{
				// 40 is asked first and stays silent; after the straggler delay 50 is
				// asked and names 10 and 20, which answer: the lookup ends with them,
				// long before 40 would time out.
				40: {silent: true},
				50: {delay: rtt, knows: []byte{10, 20}},
				10: {delay: rtt}, 20: {delay: rtt},
			},
			closest:     []byte{10, 20},
			asked:       []byte{40, 50, 10, 20},
			maxInFlight: 2, // the silent straggler and one prompt request
			longest:     straggler + 3*rtt,
			rounds:      2,
		},
		{
			name: "a silent contact times out and is reported",
			k:    2, alpha: 2, seeds: []byte{10, 20, 30},
			peers: map[byte]peer{
				// Only the k closest are asked, but a straggler holds no place among
				// them: 30 is asked once 10 straggles, and has answered by the time 10
				// times out, when the lookup ends.
				10: {silent: true}, 20: {delay: rtt}, 30: {delay: rtt},
			},
			closest:  []byte{20, 30},
			timedOut: []byte{10},
			longest:  timeout,
			rounds:   1,
		},
		{
			name: "a failed contact is replaced by the next closest",
			k:    2, alpha: 2, seeds: []byte{10, 20, 30},
			peers: map[byte]peer{
				10: {fail: true, delay: rtt}, 20: {delay: rtt}, 30: {delay: rtt},
			},
			closest: []byte{20, 30},
			asked:   []byte{10, 20, 30},
			longest: 2 * rtt,
			rounds:  1,
		},
		{
			name: "contacts with unsendable addresses and the node itself are never asked",
			k:    3, alpha: 3, seeds: []byte{40},
			peers: map[byte]peer{
				// 40 names 0 (the node itself, see below) and 99, whose scripted address
				// is replaced by a multicast one in the test body.
				40: {delay: rtt, knows: []byte{0, 99, 50}},
				50: {delay: rtt},
			},
			closest:  []byte{40, 50},
			notAsked: []byte{0, 99},
			longest:  2 * rtt,
			rounds:   2,
			hops:     1, // the closest that answered, 40, is a seed
		},
		{
			name: "a value lookup stops at the first value and names where to cache it",
			k:    3, alpha: 1, seeds: []byte{10, 20, 30},
			peers: map[byte]peer{
				10: {delay: rtt, value: "v"},
				20: {delay: rtt}, 30: {delay: rtt},
			},
			found:    "v",
			closest:  []byte{10},
			notAsked: []byte{20, 30},
			longest:  rtt,
			rounds:   1,
		},
		{
			name: "the cache goes to the closest that answered without the value",
			k:    4, alpha: 1, seeds: []byte{10, 20, 30, 40},
			peers: map[byte]peer{
				// 10 fails, 20 answers without the value, 30 holds it; 40 is not asked.
				10: {delay: rtt, fail: true}, 20: {delay: rtt}, 30: {delay: rtt, value: "v"},
				40: {delay: rtt},
			},
			found:    "v",
			closest:  []byte{20, 30},
			cacheAt:  20,
			notAsked: []byte{40},
			longest:  3 * rtt,
			rounds:   1,
		},
		{
			name: "the cache's lifetime counts the unsettled candidates closer than it",
			k:    4, alpha: 2, seeds: []byte{10, 20, 30, 40},
			peers: map[byte]peer{
				// 10 is slow, 20 answers without the value, 30 holds it: 10 is still
				// waiting, so one candidate is closer to the key than the cache at 20.
				10: {delay: 10 * rtt}, 20: {delay: rtt}, 30: {delay: 2 * rtt, value: "v"},
				40: {delay: rtt},
			},
			found:       "v",
			closest:     []byte{20, 30},
			cacheAt:     20,
			cacheCloser: 1,
			longest:     3 * rtt,
			rounds:      1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{peers: tt.peers}
				var mu sync.Mutex
				var timedOut []byte
				seeds := contactsAt(tt.seeds...)
				query := s.query
				if tt.name == "contacts with unsendable addresses and the node itself are never asked" {
					query = func(ctx context.Context, c protocol.Contact) queryReply {
						r := s.query(ctx, c)
						for i := range r.contacts {
							if r.contacts[i].ID[0] == 99 {
								r.contacts[i].Addr = netip.MustParseAddrPort("224.0.0.1:4000")
							}
						}
						return r
					}
				}
				start := time.Now()
				res, err := runLookup(t.Context(), lookupParams{
					target: protocol.ID{}, self: protocol.ID{0}, seeds: seeds,
					k: tt.k, alpha: tt.alpha, straggler: straggler, timeout: timeout, lastRound: tt.lastRound,
					query: query,
					timedOut: func(c protocol.Contact) {
						mu.Lock()
						timedOut = append(timedOut, c.ID[0])
						mu.Unlock()
					},
				})
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if got := firstBytes(res.closest); !slices.Equal(got, tt.closest) {
					t.Errorf("closest %v, want %v", got, tt.closest)
				}
				if res.found != (tt.found != "") || string(res.value) != tt.found {
					t.Errorf("found %v %q, want %q", res.found, res.value, tt.found)
				}
				if res.cacheAt.ID[0] != tt.cacheAt || res.cacheAt.ID.IsZero() != (tt.cacheAt == 0) || res.cacheCloser != tt.cacheCloser {
					t.Errorf("cache at %v (%d closer), want %d (%d closer)", res.cacheAt.ID.Short(), res.cacheCloser, tt.cacheAt, tt.cacheCloser)
				}
				for _, d := range tt.asked {
					if !s.wasAsked(d) {
						t.Errorf("contact %d not asked; asked %v", d, s.asked)
					}
				}
				for _, d := range tt.notAsked {
					if s.wasAsked(d) {
						t.Errorf("contact %d asked; asked %v", d, s.asked)
					}
				}
				slices.Sort(timedOut)
				if !slices.Equal(timedOut, tt.timedOut) {
					t.Errorf("timed out %v, want %v", timedOut, tt.timedOut)
				}
				if limit := cmp.Or(tt.maxInFlight, tt.alpha); s.maxInFlight > limit {
					t.Errorf("%d requests in flight at once, want at most %d", s.maxInFlight, limit)
				} else if tt.maxInFlight != 0 && s.maxInFlight != tt.maxInFlight {
					t.Errorf("%d requests in flight at most, want %d", s.maxInFlight, tt.maxInFlight)
				}
				if took != tt.longest {
					t.Errorf("took %v of virtual time, want %v", took, tt.longest)
				}
				if res.rounds != tt.rounds || res.rpcs != len(s.asked) {
					t.Errorf("rounds %d, rpcs %d; want %d, %d", res.rounds, res.rpcs, tt.rounds, len(s.asked))
				}
				if want := cmp.Or(tt.hops, tt.rounds); res.hops != want {
					t.Errorf("hops %d, want %d", res.hops, want)
				}
				if res.timeouts != len(tt.timedOut) {
					t.Errorf("%d timeouts counted, want %d", res.timeouts, len(tt.timedOut))
				}
			})
		})
	}
}

// TestRunLookupLateReplyIgnored: a reply that comes after its request timed out changes
// nothing: the contact stays failed, out of the result, and the contacts it names are
// not asked.
func TestRunLookupLateReplyIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var asked []byte
		query := func(ctx context.Context, c protocol.Contact) queryReply {
			mu.Lock()
			asked = append(asked, c.ID[0])
			mu.Unlock()
			switch c.ID[0] {
			case 10: // answers only once the lookup has given up on it
				<-release
				return queryReply{contacts: contactsAt(1)}
			case 20:
				time.Sleep(time.Millisecond)
				return queryReply{contacts: contactsAt(30)}
			case 30:
				time.Sleep(900 * time.Millisecond)
				return queryReply{contacts: contactsAt(40)}
			case 40: // keeps the lookup open past 10's timeout (at 1 s), then frees 10
				time.Sleep(200 * time.Millisecond)
				close(release)
				time.Sleep(400 * time.Millisecond)
			}
			return queryReply{}
		}
		res, err := runLookup(t.Context(), lookupParams{
			target: protocol.ID{}, seeds: contactsAt(10, 20), k: 4, alpha: 2,
			straggler: 100 * time.Millisecond, timeout: time.Second, query: query,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := firstBytes(res.closest); !slices.Equal(got, []byte{20, 30, 40}) {
			t.Fatalf("closest %v, want [20 30 40]", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if slices.Contains(asked, 1) {
			t.Fatalf("asked %v: the late answer of 10 was followed", asked)
		}
	})
}

// TestRunLookupCanceled: a canceled lookup returns at once with the context's error, and
// every query it started has ended.
func TestRunLookupCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var running sync.WaitGroup
		var ended int
		var mu sync.Mutex
		query := func(ctx context.Context, c protocol.Contact) queryReply {
			running.Done()
			<-ctx.Done()
			mu.Lock()
			ended++
			mu.Unlock()
			return queryReply{err: ctx.Err()}
		}
		running.Add(3)
		go func() {
			running.Wait()
			cancel()
		}()
		res, err := runLookup(ctx, lookupParams{
			target: protocol.ID{}, seeds: contactsAt(1, 2, 3, 4), k: 4, alpha: 3,
			straggler: time.Hour, timeout: 2 * time.Hour, query: query,
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if res == nil || res.rpcs != 3 {
			t.Fatalf("result %+v, want one with 3 requests counted", res)
		}
		mu.Lock()
		defer mu.Unlock()
		if ended != 3 {
			t.Fatalf("%d of 3 queries ended when runLookup returned", ended)
		}
	})
}

// TestRunLookupPerContactTimeouts: with per-contact timeouts (the node's adaptive ones),
// a silent contact holds the lookup for its own timeout, not the lookup's fixed one, and
// its straggler delay lets the next candidate go first.
func TestRunLookupPerContactTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{peers: map[byte]peer{
			10: {silent: true},
			20: {delay: 5 * time.Millisecond, knows: []byte{30}},
			30: {delay: 5 * time.Millisecond},
		}}
		var timedOut []byte
		start := time.Now()
		res, err := runLookup(t.Context(), lookupParams{
			target: protocol.ID{}, seeds: contactsAt(10, 20), k: 3, alpha: 1,
			straggler: time.Hour, timeout: time.Hour, query: s.query,
			timeouts: func(c protocol.Contact) (time.Duration, time.Duration) {
				if c.ID[0] == 10 {
					return 20 * time.Millisecond, 80 * time.Millisecond
				}
				return time.Hour, time.Hour
			},
			timedOut: func(c protocol.Contact) { timedOut = append(timedOut, c.ID[0]) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 80*time.Millisecond {
			t.Errorf("the lookup took %v (simulated), want the silent contact's 80ms timeout", took)
		}
		if !slices.Equal(timedOut, []byte{10}) || res.timeouts != 1 {
			t.Errorf("timed out %v (%d), want [10]", timedOut, res.timeouts)
		}
		if got := firstBytes(res.closest); !slices.Equal(got, []byte{20, 30}) {
			t.Errorf("closest %v, want [20 30]", got)
		}
		// 10 became a straggler at 20 ms, so 20 was asked then, with alpha 1.
		if !s.wasAsked(20) || !s.wasAsked(30) {
			t.Errorf("asked %v, want 20 and 30 too", s.asked)
		}
	})
}

// TestRunLookupAsksFastFirst: of the fresh candidates about as close to the target as
// the closest (within proximitySlack bits of its common prefix with the target), the
// lookup asks the one expected fastest first; a faster one much farther waits its turn.
func TestRunLookupAsksFastFirst(t *testing.T) {
	if proximitySlack != 1 {
		t.Fatalf("the script assumes proximitySlack 1, it is %d", proximitySlack)
	}
	// Common prefixes with the zero target: 0x10, 0x11: 3 bits; 0x24: 2; 0x40: 1.
	rtts := map[byte]time.Duration{0x10: 100 * time.Millisecond, 0x11: 100 * time.Millisecond,
		0x24: 5 * time.Millisecond, 0x40: time.Millisecond}
	for _, tc := range []struct {
		name string
		rtt  func(protocol.Contact) time.Duration
		want []byte
	}{
		{"by speed", func(c protocol.Contact) time.Duration { return rtts[c.ID[0]] }, []byte{0x24, 0x10, 0x11, 0x40}},
		{"by distance", nil, []byte{0x10, 0x11, 0x24, 0x40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{peers: map[byte]peer{}}
				for d, rtt := range rtts {
					s.peers[d] = peer{delay: rtt}
				}
				_, err := runLookup(t.Context(), lookupParams{
					target: protocol.ID{}, seeds: contactsAt(0x10, 0x11, 0x24, 0x40), k: 4, alpha: 1,
					straggler: time.Hour, timeout: time.Hour, query: s.query, rtt: tc.rtt,
				})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(s.asked, tc.want) {
					t.Errorf("asked %x, want %x", s.asked, tc.want)
				}
			})
		})
	}
}

// TestRunLookupPassesOverSuspects: contacts the suspect function names (their last
// request failed) are not asked while the others fill the result, whether they are seeds
// or named in a reply, so dead ones cost the lookup no timeout; when the others are too
// few, the closest suspects are asked after all.
func TestRunLookupPassesOverSuspects(t *testing.T) {
	suspects := map[byte]bool{0x01: true, 0x02: true, 0x05: true}
	suspect := func(c protocol.Contact) bool { return suspects[c.ID[0]] }
	for _, tc := range []struct {
		name       string
		peers      map[byte]peer
		seeds      []byte
		k          int
		value      bool
		wantAsked  []byte // in any order
		wantResult []byte
		wantFound  bool
	}{
		{
			name: "enough others",
			peers: map[byte]peer{0x01: {silent: true}, 0x02: {silent: true}, 0x05: {silent: true},
				0x10: {knows: []byte{0x05}}, 0x20: {}, 0x30: {}, 0x40: {}},
			seeds: []byte{0x01, 0x02, 0x10, 0x20, 0x30, 0x40}, k: 3,
			wantAsked: []byte{0x10, 0x20, 0x30}, wantResult: []byte{0x10, 0x20, 0x30},
		},
		{
			name:  "too few others",
			peers: map[byte]peer{0x01: {}, 0x02: {silent: true}, 0x10: {}},
			seeds: []byte{0x01, 0x02, 0x10}, k: 2,
			wantAsked: []byte{0x10, 0x01}, wantResult: []byte{0x01, 0x10},
		},
		{
			name:  "the value at a suspect",
			peers: map[byte]peer{0x01: {value: "v"}, 0x10: {}, 0x20: {}},
			seeds: []byte{0x01, 0x10, 0x20}, k: 3, value: true,
			wantAsked: []byte{0x10, 0x20, 0x01}, wantFound: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{peers: tc.peers}
				start := time.Now()
				res, err := runLookup(t.Context(), lookupParams{
					target: protocol.ID{}, seeds: contactsAt(tc.seeds...), k: tc.k, alpha: 3,
					straggler: time.Second, timeout: time.Second, query: s.query, suspect: suspect,
				})
				if err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took >= time.Second {
					t.Errorf("took %v: waited on a suspect", took)
				}
				asked := slices.Clone(s.asked)
				slices.Sort(asked)
				want := slices.Clone(tc.wantAsked)
				slices.Sort(want)
				if !slices.Equal(asked, want) {
					t.Errorf("asked %x, want %x", s.asked, tc.wantAsked)
				}
				if res.found != tc.wantFound {
					t.Errorf("found %v, want %v", res.found, tc.wantFound)
				}
				if !tc.value && !slices.Equal(firstBytes(res.closest), tc.wantResult) {
					t.Errorf("result %x, want %x", firstBytes(res.closest), tc.wantResult)
				}
			})
		})
	}
}
