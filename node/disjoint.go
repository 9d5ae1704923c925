package node

import (
	"context"
	"slices"
	"sync"

	"kad/protocol"
)

// Lookups over disjoint paths (S/Kademlia: Baumgart & Mies, "S/Kademlia: A Practicable
// Approach Towards Secure Key-Based Routing", 2007, §4.4; rust-libp2p's
// disjoint_query_paths), for Config.DisjointPaths.
//
// A single lookup trusts every answer: a node that refers only to its accomplices, who
// claim to be closer to the target than anyone the lookup knows, fills the shortlist's k
// closest with them, and the lookup ends having asked no one else. Over d paths, each
// path is such a lookup of its own, and no contact serves two of them: the adversary the
// lookup meets captures the path that asked it, and its accomplices, once one path has
// seen them, are never taken up by another. The lookup fails only if every path meets
// one.
//
// What it costs: a node lookup ends when every path has heard from the k closest
// contacts it holds, so it sends up to d times the RPCs of one path (a path learns of
// fewer contacts, so less than d times in a network without adversaries), with up to
// d·α requests in flight. A value lookup ends at the first value any path finds, so it
// costs less: the other paths' requests in flight when it ends. And the paths are
// narrower than one lookup: a contact one path saw and did not ask is lost to the
// others, which may then take a referral longer to converge.

// runDisjointLookup runs the lookup p describes over d paths (d ≥ 2; fewer when there
// are fewer seeds than d). The seeds, closest first, are dealt to the paths in turn, so
// that each starts with contacts near and far; each path runs runLookup, with alpha
// requests in flight, and takes up only the contacts no other path has seen first. A
// value lookup ends at the first path that finds the value, whose result it returns; a
// node lookup ends when every path has, and returns the k closest of those that
// answered on any path. RPCs and timeouts are those of all the paths, rounds the
// longest path's. The result is never nil, also with an error (when ctx ends).
func runDisjointLookup(ctx context.Context, p lookupParams, d int) (*lookupResult, error) {
	d = min(d, len(p.seeds))
	if d <= 1 {
		return runLookup(ctx, p)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	seeds := slices.Clone(p.seeds)
	slices.SortFunc(seeds, func(a, b protocol.Contact) int { return p.target.CmpDistance(a.ID, b.ID) })
	// owner is the path that saw each contact first: the only one that may ask it.
	var mu sync.Mutex
	owner := make(map[protocol.ID]int, d*p.k)
	paths := make([][]protocol.Contact, d)
	for i, c := range seeds {
		if _, ok := owner[c.ID]; ok {
			continue
		}
		owner[c.ID] = i % d
		paths[i%d] = append(paths[i%d], c)
	}

	results := make([]*lookupResult, d)
	var wg sync.WaitGroup
	for i := range d {
		pp := p
		pp.seeds = paths[i]
		pp.claim = func(id protocol.ID) bool {
			mu.Lock()
			defer mu.Unlock()
			o, seen := owner[id]
			if !seen {
				owner[id] = i
				return true
			}
			return o == i
		}
		wg.Go(func() {
			res, err := runLookup(ctx, pp)
			results[i] = res
			if err == nil && res.found {
				cancel() // the other paths end
			}
		})
	}
	wg.Wait()
	res := mergePaths(results, p.target, p.k)
	if res.found {
		return res, nil
	}
	return res, parent.Err()
}

// mergePaths returns the result of a lookup whose paths ended with results: the first
// path's that found the value, or else the k closest contacts that answered on any path,
// with the hops of the path that found the closest of them. Counts add up across the
// paths; rounds are the longest path's.
func mergePaths(results []*lookupResult, target protocol.ID, k int) *lookupResult {
	out := &lookupResult{}
	var finder *lookupResult
	for _, r := range results {
		out.rpcs += r.rpcs
		out.timeouts += r.timeouts
		out.rounds = max(out.rounds, r.rounds)
		if r.found && finder == nil {
			finder = r
		}
	}
	if finder != nil {
		out.found, out.value, out.hops = true, finder.value, finder.hops
		out.cacheAt, out.cacheCloser = finder.cacheAt, finder.cacheCloser
		out.closest = finder.closest
		return out
	}
	var closest *lookupResult // the path that found the closest contact
	for _, r := range results {
		out.closest = append(out.closest, r.closest...)
		if len(r.closest) > 0 && (closest == nil || target.CmpDistance(r.closest[0].ID, closest.closest[0].ID) < 0) {
			closest = r
		}
	}
	// The paths' contacts are disjoint: no two share an ID.
	slices.SortFunc(out.closest, func(a, b protocol.Contact) int { return target.CmpDistance(a.ID, b.ID) })
	if len(out.closest) > k {
		out.closest = out.closest[:k]
	}
	if closest != nil {
		out.hops = closest.hops
	}
	return out
}
