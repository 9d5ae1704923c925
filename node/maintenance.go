package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"kad/protocol"
	"kad/store"
)

// The paper's maintenance (§2.3, §2.5): joining, the liveness checks of full buckets,
// bucket refresh, replication, republishing and expiry, driven by one goroutine.

// Bootstrap joins the network through the given contacts (an ID may be zero when unknown):
// it pings them, looks up its own ID, and refreshes every bucket farther away than its
// closest neighbour (paper §2.3). It fails with ErrBootstrap when none of them answers.
func (n *Node) Bootstrap(ctx context.Context, contacts ...protocol.Contact) error {
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	if len(contacts) == 0 {
		return fmt.Errorf("%w: no bootstrap contacts", ErrBootstrap)
	}
	type result struct {
		c   protocol.Contact
		err error
	}
	results := make(chan result, len(contacts))
	for _, c := range contacts {
		go func() {
			got, err := n.Ping(ctx, c)
			if err != nil {
				err = fmt.Errorf("%s: %w", c.Addr, err)
			}
			results <- result{got, err}
		}()
	}
	var errs []error
	ok := 0
	for range contacts {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
		} else {
			ok++
		}
	}
	if ok == 0 {
		if err := n.closedErr(); err != nil {
			return err
		}
		return fmt.Errorf("%w: %w", ErrBootstrap, errors.Join(errs...))
	}
	if _, err := n.Lookup(ctx, n.self.ID); err != nil {
		return fmt.Errorf("%w: self lookup: %w", ErrBootstrap, err)
	}
	// The self lookup filled the closest neighbour's bucket; the farther ones get a
	// lookup each, whenever they last saw one.
	n.refreshBuckets(ctx, time.Now(), false)
	// With contacts to ask, the node can learn whether strangers reach it.
	n.checkInBackground()
	return n.closedErr()
}

// maintain is the node's one background goroutine: it checks the liveness of the oldest
// contacts of full buckets, a few at a time, and removes expired records.
func (n *Node) maintain() {
	sem := make(chan struct{}, n.cfg.Alpha)
	handOffs := make(chan struct{}, 2)
	var wg sync.WaitGroup
	defer wg.Wait()
	// The periodic tasks are driven by time.AfterFunc timers that post to one channel,
	// rather than by Tickers in the select: fewer channel timers, and none of the
	// periodic kind, which the runtime's synctest bubbles have been seen to crash on
	// (a nil dereference in runtime.(*timer).maybeRunChan, Go 1.26.8).
	const (
		taskExpire = iota
		taskRefresh
		taskReplicate
		taskRepublish
		taskReach
	)
	// A timer posts its task when it fires; the loop re-arms it when it takes the task.
	due := make(chan int, 5)
	periods := []time.Duration{
		taskExpire:    n.cfg.SweepInterval,
		taskRefresh:   n.cfg.RefreshInterval,
		taskReplicate: n.cfg.ReplicateInterval,
		taskRepublish: n.cfg.RepublishInterval,
		taskReach:     n.cfg.ReachabilityInterval,
	}
	timers := make([]*time.Timer, len(periods))
	for task, period := range periods {
		timers[task] = time.AfterFunc(period, func() {
			select {
			case due <- task:
			default: // cannot happen: each timer posts once until re-armed
			}
		})
	}
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	// Each periodic task but expiry runs in its own goroutine, one of a kind at a time,
	// so a slow round of lookups never holds up liveness checks or expiry.
	var refreshing, replicating, republishing atomic.Bool
	background := func(running *atomic.Bool, task func(time.Time)) {
		if !running.CompareAndSwap(false, true) {
			return
		}
		wg.Add(1)
		go func() {
			defer func() { running.Store(false); wg.Done() }()
			task(time.Now())
		}()
	}
	// spawn runs do in a goroutine once slots has room for it, or reports false if the
	// node closes first.
	spawn := func(slots chan struct{}, do func()) bool {
		select {
		case slots <- struct{}{}:
		case <-n.ctx.Done():
			return false
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			do()
		}()
		return true
	}
	for {
		select {
		case <-n.ctx.Done():
			return
		case task := <-due:
			timers[task].Reset(periods[task])
			switch task {
			case taskExpire:
				n.expire(time.Now())
			case taskRefresh:
				background(&refreshing, func(now time.Time) {
					n.refreshBuckets(n.ctx, now.Add(-n.cfg.RefreshInterval), true)
				})
			case taskReplicate:
				background(&replicating, n.replicate)
			case taskRepublish:
				background(&republishing, n.republish)
			case taskReach:
				n.checkInBackground()
			}
		case <-n.newcomers.ready:
			for _, nc := range n.newcomers.take() {
				if !spawn(handOffs, func() { n.handOff(nc) }) {
					return
				}
			}
		case <-n.probes.ready:
			probes := n.probes.take()
			for i, c := range probes {
				if !spawn(sem, func() { n.sendProbe(c) }) {
					n.probeMu.Lock()
					for _, c := range probes[i:] {
						delete(n.probing, c.ID)
					}
					n.probeMu.Unlock()
					return
				}
			}
		case <-n.pings.ready:
			pings := n.pings.take()
			for i, c := range pings {
				if !spawn(sem, func() { n.check(c) }) {
					for _, c := range pings[i:] {
						n.table.PingDropped(c)
					}
					return
				}
			}
		}
	}
}

// refreshBuckets looks up a random ID in each bucket that saw no lookup since before,
// from bucket 0 (the farthest half of the ID space) up to the bucket of the closest known
// neighbour, that one included if withNearest is set; deeper buckets are empty and stay
// so until a closer node appears (paper §2.3). Up to four lookups run at once, each
// bounded by four RPC timeouts.
func (n *Node) refreshBuckets(ctx context.Context, before time.Time, withNearest bool) {
	closest := n.table.Closest(n.self.ID, 1)
	if len(closest) == 0 {
		return
	}
	deepest := n.self.ID.CommonPrefixLen(closest[0].ID)
	if !withNearest {
		deepest--
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, i := range n.table.StaleBuckets(before, deepest) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		target := n.self.ID.RandomInBucket(i, n.cfg.Rand)
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(ctx, 4*n.cfg.RPCTimeout)
			defer cancel()
			if _, err := n.Lookup(ctx, target); err != nil {
				n.log.Debug("bucket refresh", "bucket", i, "err", err)
			}
		}()
	}
}

// newcomer is a contact that has just entered the routing table. proven is true when it
// entered by answering a request of ours at its address.
type newcomer struct {
	protocol.Contact
	proven bool
}

// handOff sends a node that has just entered the routing table the records it is now
// among the k closest for (paper §2.5: "when a new node joins the system, it must store
// any (key,value) pair to which it is one of the k closest"), so that a newcomer holds
// them right after joining rather than after the next replication. Of the nodes that
// hold a record, only the one closest to its key hands it off, which spares the newcomer
// k copies of each. A newcomer heard only through its own request is pinged first, so
// that no forged source address draws STOREs. Each copy keeps the record's remaining
// life.
func (n *Node) handOff(c newcomer) {
	now := time.Now()
	var due []store.Record
	buf := make([]protocol.Contact, 0, n.cfg.K)
	if err := n.store.Range(func(r store.Record) bool {
		if !r.Expired(now) && n.handsOffTo(buf[:0], r.Key, c.ID) {
			due = append(due, r)
		}
		return true
	}); err != nil {
		n.log.Warn("hand-off: store read failed", "err", err)
	}
	if len(due) == 0 {
		return
	}
	if !c.proven {
		if _, err := n.rpc(n.ctx, c.Contact, &protocol.Message{Type: protocol.TypePing}); err != nil {
			return
		}
	}
	for _, r := range due {
		if n.ctx.Err() != nil {
			return
		}
		if r.Expires.IsZero() {
			r.Expires = time.Now().Add(n.cfg.RecordTTL)
		}
		if !r.Expires.After(time.Now()) {
			continue
		}
		_, err := n.rpc(n.ctx, c.Contact, &protocol.Message{Type: protocol.TypeStore, Key: r.Key, Value: r.Value, TTL: ttlSeconds(time.Until(r.Expires))})
		if err != nil {
			n.log.Debug("hand-off", "peer", c.Addr, "key", r.Key.Short(), "err", err)
			if !errors.As(err, new(*protocol.RemoteError)) {
				return // unreachable: the rest would fail too
			}
		}
	}
}

// handsOffTo reports whether this node should hand the record under key to newcomer,
// which its routing table holds: whether newcomer is among the k closest to key of the
// nodes this node knows, itself included, and this node the closest of the others.
func (n *Node) handsOffTo(buf []protocol.Contact, key, newcomer protocol.ID) bool {
	closest := n.table.AppendClosestLive(buf, key, n.cfg.K)
	pos, nearest := -1, -1 // newcomer's index, and that of the closest other contact
	for i, c := range closest {
		switch {
		case c.ID == newcomer:
			pos = i
		case nearest < 0:
			nearest = i
		}
	}
	if pos < 0 || (nearest >= 0 && key.CmpDistance(closest[nearest].ID, n.self.ID) < 0) {
		return false // not among the k closest, or a closer holder hands it off
	}
	rank := pos // newcomer's rank among the k closest and this node
	if key.CmpDistance(n.self.ID, newcomer) < 0 {
		rank++
	}
	return rank < n.cfg.K
}

// replicate re-stores the records this node holds as one of the k closest to their key,
// except those it received within ReplicateInterval: a node that receives a STORE assumes
// the other k-1 received it too (paper §2.5). The copies keep the record's remaining life.
// Records this node holds but is not among the k closest for are caches, left to expire.
func (n *Node) replicate(now time.Time) {
	var due []store.Record
	if err := n.store.Range(func(r store.Record) bool {
		if now.Sub(r.Stored) >= n.cfg.ReplicateInterval && r.Expires.After(now) {
			due = append(due, r)
		}
		return true
	}); err != nil {
		// Replicate what could be read; the rest waits for the next round.
		n.log.Warn("replicate: store read failed", "err", err)
	}
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
	// Collected first: the puts must not run inside the store's Range.
	recs := make([]store.Record, 0, n.published.Len())
	if err := n.published.Range(func(r store.Record) bool {
		recs = append(recs, r)
		return true
	}); err != nil {
		n.log.Warn("republish: reading the published records", "err", err)
	}
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
