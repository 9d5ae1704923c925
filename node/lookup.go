package node

import (
	"context"
	"sync"
	"time"

	"kad/protocol"
)

// The states of a lookup candidate.
const (
	candFresh    = iota // not asked yet
	candWaiting         // asked, no answer yet
	candAnswered        // answered
	candFailed          // failed or timed out
)

type candidate struct {
	protocol.Contact
	state     uint8
	straggler bool // asked long enough ago that it no longer counts against alpha
	depth     int  // hops from the routing table: seeds are 1
	sent      time.Time
}

type lookupReply struct {
	cand     *candidate
	contacts []protocol.Contact
	value    []byte
	found    bool
	err      error
}

// lookupResult is what an iterative lookup learned.
type lookupResult struct {
	closest []protocol.Contact // the k closest that answered, closest first
	value   []byte
	found   bool
	rpcs    int // requests sent
	rounds  int // longest chain of referrals that was followed
}

// lookup runs the iterative node or value lookup of paper §2.3. It keeps up to Alpha
// requests in flight to the closest candidates not yet asked; a request unanswered after
// StragglerDelay stops counting against Alpha, so one slow peer never stalls the lookup.
// It ends when the k closest candidates that did not fail have all answered, or, for a
// value lookup, at the first value. Every goroutine it starts has ended when it returns.
func (n *Node) lookup(ctx context.Context, target protocol.ID, findValue bool) (*lookupResult, error) {
	k, alpha := n.cfg.K, n.cfg.Alpha
	seeds := n.table.Closest(target, k)
	if len(seeds) == 0 {
		if err := n.closedErr(); err != nil {
			return nil, err
		}
		return nil, ErrNoContacts
	}
	n.table.Touch(target, time.Now())
	res := &lookupResult{}
	n.counters.lookups.Add(1)
	defer func() {
		n.counters.lookupRequests.Add(uint64(res.rpcs))
		n.counters.lookupRounds.Add(uint64(res.rounds))
		if res.found {
			n.counters.valuesFound.Add(1)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()

	var (
		shortlist []*candidate // sorted by distance to target
		known     = map[protocol.ID]bool{n.self.ID: true}
		replies   = make(chan lookupReply, alpha)
		timer     = time.NewTimer(time.Hour)
	)
	defer timer.Stop()
	add := func(c protocol.Contact, depth int) {
		if known[c.ID] {
			return
		}
		known[c.ID] = true
		cand := &candidate{Contact: c, depth: depth}
		i := len(shortlist)
		shortlist = append(shortlist, cand)
		for ; i > 0 && target.CmpDistance(c.ID, shortlist[i-1].ID) < 0; i-- {
			shortlist[i] = shortlist[i-1]
		}
		shortlist[i] = cand
	}
	for _, c := range seeds {
		add(c, 1)
	}
	send := func(c *candidate) {
		c.state, c.sent = candWaiting, time.Now()
		res.rpcs++
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := lookupReply{cand: c}
			req := &protocol.Message{Type: protocol.TypeFindNode, Key: target}
			if findValue {
				req.Type = protocol.TypeFindValue
			}
			reply, err := n.call(ctx, c.Contact, req)
			switch {
			case err != nil:
				r.err = err
			case reply.Type == protocol.TypeValue:
				r.value, r.found = reply.Value, true
			default:
				r.contacts = reply.Contacts
			}
			select {
			case replies <- r:
			case <-ctx.Done():
			}
		}()
	}

	for {
		// Walk the k closest candidates that have not failed: ask fresh ones while fewer
		// than alpha prompt requests are out, and see whether any is still unsettled.
		inFlight, pending := 0, false
		var nextStraggle time.Time
		for _, c := range shortlist {
			if c.state == candWaiting && !c.straggler {
				inFlight++
			}
		}
		counted := 0
		for _, c := range shortlist {
			if counted == k {
				break
			}
			switch c.state {
			case candFailed:
				continue
			case candFresh:
				if inFlight < alpha {
					send(c)
					inFlight++
				}
				pending = true
			case candWaiting:
				pending = true
			}
			counted++
		}
		if !pending {
			break
		}
		// The next timer event: a request becoming a straggler, or timing out.
		for _, c := range shortlist {
			if c.state != candWaiting {
				continue
			}
			t := c.sent.Add(n.cfg.RPCTimeout)
			if !c.straggler {
				t = c.sent.Add(min(n.cfg.StragglerDelay, n.cfg.RPCTimeout))
			}
			if nextStraggle.IsZero() || t.Before(nextStraggle) {
				nextStraggle = t
			}
		}
		var timerC <-chan time.Time
		if !nextStraggle.IsZero() {
			timer.Reset(time.Until(nextStraggle))
			timerC = timer.C
		}

		select {
		case <-ctx.Done():
			if err := n.closedErr(); err != nil {
				return nil, err
			}
			return nil, ctx.Err()
		case <-timerC:
			now := time.Now()
			for _, c := range shortlist {
				if c.state != candWaiting {
					continue
				}
				if !now.Before(c.sent.Add(n.cfg.RPCTimeout)) {
					// Timed out. Its goroutine ends when the lookup does; a late
					// answer is ignored.
					c.state = candFailed
					n.table.Failed(c.ID)
				} else if !now.Before(c.sent.Add(n.cfg.StragglerDelay)) {
					c.straggler = true
				}
			}
		case r := <-replies:
			if r.cand.state != candWaiting {
				break // answered after its timeout
			}
			if r.err != nil {
				r.cand.state = candFailed
				n.log.Debug("lookup request failed", "peer", r.cand.Addr, "err", r.err)
				break
			}
			r.cand.state = candAnswered
			if r.cand.depth > res.rounds {
				res.rounds = r.cand.depth
			}
			if r.found {
				res.found, res.value = true, r.value
				n.cacheAt(shortlist, r.cand, target, r.value)
				res.closest = answered(shortlist, k)
				return res, nil
			}
			for _, c := range r.contacts {
				if protocol.CheckAddr(c.Addr) == nil {
					add(c, r.cand.depth+1)
				}
			}
		}
		// Drain the timer so the next Reset starts clean.
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
	res.closest = answered(shortlist, k)
	return res, nil
}

// answered returns up to k candidates that answered, closest first.
func answered(shortlist []*candidate, k int) []protocol.Contact {
	out := make([]protocol.Contact, 0, k)
	for _, c := range shortlist {
		if c.state == candAnswered {
			out = append(out, c.Contact)
			if len(out) == k {
				break
			}
		}
	}
	return out
}

// cacheAt stores a found value at the closest candidate that answered without it (paper
// §2.3), so later lookups for a popular key end sooner. The copy's lifetime halves for
// every candidate closer to the key than it, so caches far from the key fade first
// (paper §2.5: "exponentially inversely proportional to the number of nodes between").
func (n *Node) cacheAt(shortlist []*candidate, finder *candidate, target protocol.ID, value []byte) {
	closer := 0
	for _, c := range shortlist {
		if c == finder || c.state == candFailed {
			continue
		}
		if c.state != candAnswered {
			closer++
			continue
		}
		ttl := n.cfg.RecordTTL >> min(closer, 20)
		secs := uint32(max(ttl/time.Second, 1))
		to := c.Contact
		n.goFunc(func() {
			ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RPCTimeout)
			defer cancel()
			_, err := n.rpc(ctx, to, &protocol.Message{Type: protocol.TypeStore, Key: target, Value: value, TTL: secs})
			if err != nil {
				n.log.Debug("cache store failed", "peer", to.Addr, "err", err)
			}
		})
		return
	}
}
