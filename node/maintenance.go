package node

import (
	"context"
	"time"
)

// refresh looks up a random ID in every bucket that saw no lookup within RefreshInterval,
// from bucket 0 up to the one the closest known neighbour is in; deeper buckets are empty
// and stay so until a closer node appears (paper §2.3).
func (n *Node) refresh(now time.Time) {
	closest := n.table.Closest(n.self.ID, 1)
	if len(closest) == 0 {
		return
	}
	deepest := n.self.ID.CommonPrefixLen(closest[0].ID)
	for _, i := range n.table.StaleBuckets(now.Add(-n.cfg.RefreshInterval), deepest) {
		if n.ctx.Err() != nil {
			return
		}
		target := n.self.ID.RandomInBucket(i, n.cfg.Rand)
		ctx, cancel := context.WithTimeout(n.ctx, 4*n.cfg.RPCTimeout)
		if _, err := n.Lookup(ctx, target); err != nil {
			n.log.Debug("bucket refresh", "bucket", i, "err", err)
		}
		cancel()
	}
}

// replicate re-stores the records this node holds as one of the k closest to their key,
// except those it received within ReplicateInterval: a node that receives a STORE assumes
// the other k-1 received it too (paper §2.5). The copies keep the record's remaining life.
// Records this node holds but is not among the k closest for are caches, left to expire.
func (n *Node) replicate(now time.Time) {
	var due []Record
	n.store.Range(func(r Record) bool {
		if now.Sub(r.Stored) >= n.cfg.ReplicateInterval && r.Expires.After(now) {
			due = append(due, r)
		}
		return true
	})
	for _, r := range due {
		if n.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(n.ctx, 4*n.cfg.RPCTimeout)
		// The lookup, not the routing table, says whether this node is still among the k
		// closest: the table may hold departed nodes that the lookup finds dead.
		closest, err := n.Lookup(ctx, r.Key)
		if err == nil && (len(closest) < n.cfg.K || n.closerThanLast(r.Key, closest)) {
			_, err = n.storeAtClosest(ctx, closest, r.Key, r.Value, time.Until(r.Expires), false)
		}
		if err != nil {
			n.log.Debug("replicate", "key", r.Key.Short(), "err", err)
		}
		cancel()
	}
}

// republish puts again every record this node published, renewing its life for
// RecordTTL (paper §2.5).
func (n *Node) republish(time.Time) {
	n.pubMu.Lock()
	recs := make([]Record, 0, len(n.published))
	for k, v := range n.published {
		recs = append(recs, Record{Key: k, Value: v})
	}
	n.pubMu.Unlock()
	for _, r := range recs {
		if n.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(n.ctx, 4*n.cfg.RPCTimeout)
		if _, err := n.put(ctx, r.Key, r.Value, n.cfg.RecordTTL, true); err != nil {
			n.log.Debug("republish", "key", r.Key.Short(), "err", err)
		}
		cancel()
	}
}
