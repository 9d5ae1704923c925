package sim

import "kad/protocol"

// closest returns the k IDs of ids closest to target, closest first, leaving out skip.
// It keeps the best k in a sorted buffer, so a pass over 100,000 IDs costs about as much
// as 100,000 comparisons with the k-th best: far less than sorting them.
func closest(ids []protocol.ID, target, skip protocol.ID, k int) []protocol.ID {
	best := make([]protocol.ID, 0, k+1)
	for _, id := range ids {
		if id == skip || (len(best) == k && target.CmpDistance(id, best[k-1]) >= 0) {
			continue
		}
		i := len(best)
		if i < k {
			best = append(best, id)
		} else {
			i = k - 1
		}
		for ; i > 0 && target.CmpDistance(id, best[i-1]) < 0; i-- {
			best[i] = best[i-1]
		}
		best[i] = id
	}
	return best
}
