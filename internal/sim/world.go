package sim

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// nodeState is where a node is in its life.
type nodeState uint8

const (
	stateJoining nodeState = iota // started, its Bootstrap not done
	stateLive                     // up and joined
	stateFailed                   // up, every Bootstrap failed
	stateDead                     // killed, or left with the churn
)

// world is who is up while the scenario runs: each node's state, the live nodes the
// callers are drawn from, the public ones newcomers join through, the side of each
// node while the network is partitioned, and the churn's counts. One mutex guards it
// all, because the churn, the joins and the rounds of gets run at once. The adversarial
// nodes are in neither set: no caller is one, no node joins through one, and the
// lookups are judged against the honest nodes.
type world struct {
	mu          sync.Mutex
	state       []nodeState // by node index
	adversarial []bool      // by node index; set before the first node starts, then read only
	live        nodeSet     // up and joined, honest
	public      nodeSet     // up, joined, honest, not behind a NAT
	split       []bool      // by node index: on the side split off
	partitioned bool
	dead        []netip.AddrPort // the addresses of the nodes gone, kept cut off
	left        int
	joined      int             // nodes that joined during the scenario
	joinFailed  int             // of those started during the scenario
	leavers     []int           // of the churn, in the schedule's order
	joinTook    []time.Duration // of the newcomers, from arriving to joined
}

func (w *world) init(adversarial []bool) {
	w.state = make([]nodeState, len(adversarial))
	w.split = make([]bool, len(adversarial))
	w.adversarial = adversarial
}

// done records the end of node i's join: joined or not, and whether it may be a join
// peer (not behind a NAT). A node that left while joining stays gone; churn says
// whether it joined during the scenario. done reports whether node i is now up and
// joined.
func (w *world) done(i int, ok, public, churn bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state[i] != stateJoining {
		return false
	}
	if !ok {
		w.state[i] = stateFailed
		if churn {
			w.joinFailed++
		}
		return false
	}
	w.state[i] = stateLive
	if w.adversarial[i] {
		return true
	}
	w.live.add(i)
	if public {
		w.public.add(i)
	}
	if churn {
		w.joined++
	}
	return true
}

// leave marks node i gone at addr, and reports whether it was not already.
func (w *world) leave(i int, addr netip.AddrPort, churn bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state[i] == stateDead {
		return false
	}
	w.state[i] = stateDead
	w.live.remove(i)
	w.public.remove(i)
	w.dead = append(w.dead, addr)
	if churn {
		w.left++
		w.leavers = append(w.leavers, i)
	}
	return true
}

// gone reports whether node i has left or been killed.
func (w *world) gone(i int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state[i] == stateDead
}

// groups returns the partition of the network's addresses the world asks for: the
// dead cut off from everyone, and while partitioned the side split off (its addresses
// from addr). The caller holds w.mu.
func (w *world) groupsLocked(addr func(i int) netip.AddrPort) [][]netip.AddrPort {
	groups := [][]netip.AddrPort{w.dead}
	if w.partitioned {
		var side []netip.AddrPort
		for i, on := range w.split {
			if on && w.state[i] != stateDead {
				side = append(side, addr(i))
			}
		}
		groups = append(groups, side)
	}
	return groups
}

// joinPeers returns the public nodes on the side that is not split off, those a
// newcomer may join through.
func (w *world) joinPeers() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(w.public.items), func(i int) bool { return w.partitioned && w.split[i] })
}

// nodeSet is a set of node indices that draws a random member in constant time.
type nodeSet struct {
	items []int
	pos   map[int]int // index in items
}

func (s *nodeSet) add(i int) {
	if s.pos == nil {
		s.pos = make(map[int]int)
	}
	if _, ok := s.pos[i]; ok {
		return
	}
	s.pos[i] = len(s.items)
	s.items = append(s.items, i)
}

func (s *nodeSet) remove(i int) {
	p, ok := s.pos[i]
	if !ok {
		return
	}
	last := s.items[len(s.items)-1]
	s.items[p], s.pos[last] = last, p
	s.items = s.items[:len(s.items)-1]
	delete(s.pos, i)
}

// sorted returns the members in increasing order.
func (s *nodeSet) sorted() []int {
	out := slices.Clone(s.items)
	slices.Sort(out)
	return out
}
