package node

import (
	"context"
	"sync"
	"time"

	"kad/protocol"
)

// The lookup engine: the iterative node and value lookup of paper §2.3, written against
// a query function rather than the network, so that its rules (how many requests are in
// flight, when a silent request stops counting, when one times out, when the lookup ends)
// can be tested with scripted replies. The node supplies a query that sends FIND_NODE or
// FIND_VALUE; the tests supply one that answers from a table.

// query asks one contact for what it knows of the lookup's target. It blocks until the
// contact answers, fails, or ctx ends; it must return soon after ctx ends.
type query func(ctx context.Context, c protocol.Contact) queryReply

// queryReply is what one contact answered.
type queryReply struct {
	contacts []protocol.Contact // the contacts it knows closest to the target
	value    []byte             // the value, when found
	found    bool
	err      error // no valid answer
}

// lookupParams are the inputs of one lookup.
type lookupParams struct {
	target protocol.ID
	self   protocol.ID // never asked, never in the result
	seeds  []protocol.Contact
	k      int
	alpha  int
	// straggler is how long a request may go unanswered before it stops counting
	// against alpha; timeout is when it fails. timeouts, when set, gives them per
	// contact instead (the node's adaptive ones, rtt.go).
	straggler, timeout time.Duration
	timeouts           func(protocol.Contact) (straggler, timeout time.Duration)
	query              query
	// lastRound turns on the last round of paper §2.3: once alpha answers in a row name
	// no contact closer than the closest seen, ask all of the k closest not yet asked at
	// once. A node lookup sets it, since it must hear from the k closest anyway; a value
	// lookup does not, since it ends at the first value and would pay up to k-alpha
	// requests more for it (a third more RPCs per get at 2,000 nodes, no faster).
	lastRound bool
	// rtt, when set, gives the round trip a request to a contact is expected to take:
	// of the fresh candidates about as close to the target as the closest fresh one
	// (within proximitySlack bits of its common prefix with the target), the lookup
	// asks the one expected fastest first. Unset: in order of distance alone.
	rtt func(protocol.Contact) time.Duration
	// timedOut, when set, is told of each request the lookup gave up on (the node counts
	// it against the contact in its routing table).
	timedOut func(protocol.Contact)
	// suspect, when set, says whether a contact failed this node's last request to it
	// (suspects.go). A suspect is passed over, as one that failed is, unless the lookup
	// runs out of others: when it would end with fewer than k answers (or, for a value
	// lookup, without the value), it asks the closest suspects after all.
	suspect func(protocol.Contact) bool
	// claim, when set, says whether the lookup may take up a contact a reply named: a
	// path of a disjoint lookup (disjoint.go) takes only the contacts that no other path
	// saw first. It is asked from the lookup's goroutine; the seeds are not asked about.
	claim func(protocol.ID) bool
	// tracker, when set, counts the goroutines of the requests, which may then outlive
	// the lookup: the lookup does not wait for them, it only stops reading their replies.
	// The node lets requests run on after the lookup so that a late answer is still heard
	// (Node.lookup). Unset: the lookup waits for them before it returns.
	tracker tracker
}

// tracker counts goroutines for their owner, which waits for them when it closes: add
// reports whether one may start (false once the owner is closing), done that it ended.
type tracker interface {
	add() bool
	done()
}

// proximitySlack is how many bits less of a common prefix with the target than the
// closest fresh candidate's another candidate may have and still be asked first for
// being faster (lookupParams.rtt).
const proximitySlack = 1

// The states of a lookup candidate.
const (
	candFresh    = iota // not asked yet
	candWaiting         // asked, no answer yet
	candAnswered        // answered
	candFailed          // failed or timed out
	candSuspect         // passed over: lookupParams.suspect said so when it was next
)

type candidate struct {
	protocol.Contact
	state     uint8
	straggler bool // asked long enough ago that it no longer counts against alpha
	// yielded: a straggler for as long again, well short of its timeout, so that it no
	// longer holds a place among the k closest either. Where timeouts are about twice
	// the straggler delay (RFC 6298 estimates of real round trips) no request yields;
	// where the timeout's floor dwarfs the round trips (a LAN, a loopback), a dead
	// contact then costs the lookup its timeout once, not once for each dead contact in
	// turn.
	yielded bool
	rttSet  bool // rtt holds lookupParams.rtt of the contact
	cleared bool // asked although a suspect, or found not to be one
	rtt     time.Duration
	depth   int // hops from the routing table: seeds are 1
	sent    time.Time
	// stragglerAfter and timeout are this request's (lookupParams).
	stragglerAfter, timeout time.Duration
}

// lookupResult is what an iterative lookup learned.
type lookupResult struct {
	closest []protocol.Contact // the k closest that answered, closest first
	value   []byte
	found   bool
	// cacheAt is the closest candidate that answered without the value, once it was
	// found (paper §2.3), and cacheCloser how many candidates closer to the target than
	// it neither failed nor answered. cacheAt's ID is zero when there is none.
	cacheAt     protocol.Contact
	cacheCloser int
	rpcs        int // requests sent
	timeouts    int // requests given up on
	rounds      int // longest chain of referrals that was followed
	// hops is the referral depth at which the value was found, or else at which the
	// closest contact that answered was learned: seeds are depth 1.
	hops int
}

// runLookup keeps up to alpha requests in flight to the closest candidates not yet
// asked; a request unanswered after straggler stops counting against alpha, so one slow
// peer never stalls the lookup; one unanswered for twice that yields its place among the
// k closest to the next candidate (the lookup still waits for it); and one unanswered
// after timeout fails. Suspects are passed over while others suffice
// (lookupParams.suspect). With lastRound, once alpha answers in a row name no contact
// closer than the closest seen, it asks every one of the k closest not yet asked at
// once (paper §2.3). It ends when the k closest candidates that did not fail have all
// answered, or, for a value lookup, at the first value. One timer serves all its
// requests. Every goroutine it starts has ended when it returns, unless
// lookupParams.tracker counts them; a reply that comes after its request timed out is
// ignored by the lookup. The result is never nil, also with an error (when ctx ends),
// so that its counts can be read.
func runLookup(ctx context.Context, p lookupParams) (*lookupResult, error) {
	res := &lookupResult{}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	type reply struct {
		cand *candidate
		queryReply
	}
	var (
		shortlist []*candidate // sorted by distance to target
		known     = map[protocol.ID]bool{p.self: true}
		// The last round (paper §2.3): once alpha replies in a row bring no contact
		// closer than the closest seen, the lookup asks all of the k closest it has not
		// asked at once, rather than alpha at a time.
		stale   int
		limit   = p.alpha
		replies = make(chan reply, p.alpha)
		timer   = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	add := func(c protocol.Contact, depth int) {
		if known[c.ID] {
			return
		}
		known[c.ID] = true
		cand := &candidate{Contact: c, depth: depth}
		i := len(shortlist)
		shortlist = append(shortlist, cand)
		for ; i > 0 && p.target.CmpDistance(c.ID, shortlist[i-1].ID) < 0; i-- {
			shortlist[i] = shortlist[i-1]
		}
		shortlist[i] = cand
	}
	for _, c := range p.seeds {
		add(c, 1)
	}
	// The request goroutines capture the query alone: a copy of p in each would make
	// every one a larger allocation.
	query := p.query
	own := p.tracker == nil // the lookup waits for its requests' goroutines
	send := func(c *candidate) {
		c.state, c.sent = candWaiting, time.Now()
		c.stragglerAfter, c.timeout = min(p.straggler, p.timeout), p.timeout
		if p.timeouts != nil {
			st, to := p.timeouts(c.Contact)
			c.stragglerAfter, c.timeout = min(st, to), to
		}
		res.rpcs++
		if own {
			wg.Add(1)
		} else if !p.tracker.add() {
			return // its owner is closing: the request times out, if the lookup lasts
		}
		tr := p.tracker
		go func() {
			if own {
				defer wg.Done()
			} else {
				defer tr.done()
			}
			r := reply{cand: c, queryReply: query(ctx, c.Contact)}
			select {
			case replies <- r:
			case <-ctx.Done():
			}
		}()
	}
	// nearest returns the fresh candidate to ask in place of first, the closest fresh
	// one: of the next n candidates that did not fail, those within proximitySlack bits
	// of first's common prefix with the target, the one expected fastest, the closest
	// of those on a tie.
	nearest := func(first *candidate, next []*candidate, n int) *candidate {
		if p.rtt == nil {
			return first
		}
		best, bestRTT := first, time.Duration(-1)
		minCPL := p.target.CommonPrefixLen(first.ID) - proximitySlack
		for _, c := range next {
			if n == 0 || p.target.CommonPrefixLen(c.ID) < minCPL {
				break
			}
			if c.state == candFailed || c.state == candSuspect {
				continue
			}
			n--
			if c.state != candFresh {
				continue
			}
			if !c.rttSet {
				c.rtt, c.rttSet = p.rtt(c.Contact), true
			}
			if bestRTT < 0 || c.rtt < bestRTT {
				best, bestRTT = c, c.rtt
			}
		}
		return best
	}
	for {
		// Walk the k closest candidates that have not failed, nor yielded their place:
		// ask fresh ones while fewer than alpha prompt requests are out, and see whether
		// any is still unsettled.
		inFlight, pending := 0, false
		for _, c := range shortlist {
			if c.state == candWaiting && !c.straggler {
				inFlight++
			}
		}
		counted := 0
		for i, c := range shortlist {
			if counted == p.k {
				break
			}
			switch c.state {
			case candFailed, candSuspect:
				continue
			case candFresh:
				for c.state == candFresh && inFlight < limit {
					next := nearest(c, shortlist[i:], p.k-counted)
					if !next.cleared && p.suspect != nil {
						if next.cleared = true; p.suspect(next.Contact) {
							next.state = candSuspect
							continue
						}
					}
					send(next)
					inFlight++
				}
				if c.state == candSuspect {
					continue
				}
				pending = true
			case candWaiting:
				pending = true
				if c.yielded {
					// It holds no place among the k: the next candidate is asked beside
					// it, so that if it is dead, the one after it has answered by the
					// time it times out, rather than being asked only then.
					continue
				}
			}
			counted++
		}
		if !pending && !reviveSuspects(shortlist, p.k) {
			break
		}
		if !pending {
			continue
		}
		// The next timer event: a request becoming a straggler, or timing out.
		var next time.Time
		for _, c := range shortlist {
			if c.state != candWaiting {
				continue
			}
			t := c.sent.Add(c.timeout)
			switch {
			case !c.straggler:
				t = c.sent.Add(c.stragglerAfter)
			case !c.yielded && yieldAfter(c) < c.timeout:
				t = c.sent.Add(yieldAfter(c))
			}
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
		var timerC <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			timerC = timer.C
		}

		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-timerC:
			now := time.Now()
			for _, c := range shortlist {
				if c.state != candWaiting {
					continue
				}
				if !now.Before(c.sent.Add(c.timeout)) {
					// Timed out. Its goroutine ends when the lookup does.
					c.state = candFailed
					res.timeouts++
					if p.timedOut != nil {
						p.timedOut(c.Contact)
					}
				} else if !now.Before(c.sent.Add(c.stragglerAfter)) {
					c.straggler = true
					c.yielded = c.yielded || !now.Before(c.sent.Add(yieldAfter(c)))
				}
			}
		case r := <-replies:
			if r.cand.state != candWaiting {
				break // answered after its timeout
			}
			if r.err != nil {
				r.cand.state = candFailed
				break
			}
			r.cand.state = candAnswered
			res.rounds = max(res.rounds, r.cand.depth)
			if r.found {
				res.found, res.value, res.hops = true, r.value, r.cand.depth
				res.cacheAt, res.cacheCloser = cacheTarget(shortlist, r.cand)
				res.closest = answered(shortlist, p.k)
				return res, nil
			}
			closest := shortlist[0]
			for _, c := range r.contacts {
				// The claim is asked here rather than in add, which must stay small
				// enough to inline: else the shortlist moves to the heap, and the
				// single lookup pays for the disjoint one.
				if protocol.CheckAddr(c.Addr) == nil && (p.claim == nil || p.claim(c.ID)) {
					add(c, r.cand.depth+1)
				}
			}
			if shortlist[0] != closest {
				stale = 0
			} else if stale++; stale >= p.alpha && p.lastRound {
				limit = p.k
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
	res.closest = answered(shortlist, p.k)
	for _, c := range shortlist {
		if c.state == candAnswered {
			res.hops = c.depth
			break
		}
	}
	return res, nil
}

// yieldAfter is how long after it was sent a request yields its place among the k
// closest (candidate.yielded): twice its straggler delay.
func yieldAfter(c *candidate) time.Duration { return 2 * c.stragglerAfter }

// reviveSuspects makes fresh again the closest suspects, as many as the lookup lacks
// answers of its k, and reports whether it found any: the lookup would end short of k
// answers, so they are asked after all.
func reviveSuspects(shortlist []*candidate, k int) bool {
	lack := k
	for _, c := range shortlist {
		if c.state == candAnswered {
			lack--
		}
	}
	revived := false
	for _, c := range shortlist {
		if lack <= 0 {
			break
		}
		if c.state == candSuspect {
			c.state = candFresh
			revived = true
			lack--
		}
	}
	return revived
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

// cacheTarget returns the closest candidate other than finder that answered (without the
// value, or it would have been the finder), and how many candidates closer than it are
// still unsettled.
func cacheTarget(shortlist []*candidate, finder *candidate) (protocol.Contact, int) {
	closer := 0
	for _, c := range shortlist {
		if c == finder || c.state == candFailed || c.state == candSuspect {
			continue
		}
		if c.state != candAnswered {
			closer++
			continue
		}
		return c.Contact, closer
	}
	return protocol.Contact{}, 0
}

// lookup runs an iterative lookup for target from the routing table's k closest
// contacts: FIND_VALUE when findValue is set, else FIND_NODE. A found value is cached at
// the closest node that answered without it. With Config.DisjointPaths of 2 or more the
// lookup runs over that many disjoint paths (runDisjointLookup), at up to that many
// times the RPCs; otherwise it is the paper's single lookup, which no part of the
// disjoint one slows down.
func (n *Node) lookup(ctx context.Context, target protocol.ID, findValue bool) (*lookupResult, error) {
	seeds := n.table.Closest(target, n.cfg.K)
	if len(seeds) == 0 {
		if err := n.closedErr(); err != nil {
			return nil, err
		}
		return nil, ErrNoContacts
	}
	n.table.Touch(target, time.Now())
	typ := protocol.TypeFindNode
	if findValue {
		typ = protocol.TypeFindValue
	}
	start := time.Now()
	// The requests run on the node's context, not the lookup's, and when the lookup
	// timed any out, those unanswered when it ends run on for RPCTimeout more: a slow
	// host's answer that comes after the lookup timed its request out still clears the
	// host of suspicion (suspects.go) and gives its round trip to the estimates (rtt.go),
	// so a live host that was slow once is neither passed over by the next lookups nor
	// given the same too-short timeout. A dead host costs a pending request for that
	// long, and no traffic. A lookup that timed nothing out has nothing to hear late: the
	// requests it still has out (a found value's others, stragglers beyond the k closest)
	// end with it, as they did on the lookup's own context, and cost nothing more.
	rctx, rcancel := context.WithCancel(n.ctx)
	var res *lookupResult
	defer func() {
		if res != nil && res.timeouts == 0 {
			rcancel()
			return
		}
		time.AfterFunc(n.cfg.RPCTimeout, rcancel)
	}()
	p := lookupParams{
		target:    target,
		self:      n.self.ID,
		seeds:     seeds,
		k:         n.cfg.K,
		alpha:     n.cfg.Alpha,
		straggler: n.cfg.StragglerDelay,
		timeout:   n.cfg.RPCTimeout,
		timeouts:  n.timeouts,
		rtt:       n.expectedRTT,
		suspect:   n.suspect,
		lastRound: !findValue,
		tracker:   (*nodeTracker)(n),
		query: func(_ context.Context, c protocol.Contact) queryReply {
			reply, err := n.call(rctx, c, &protocol.Message{Type: typ, Key: target})
			switch {
			case err != nil:
				n.log.Debug("lookup request failed", "peer", c.Addr, "err", err)
				return queryReply{err: err}
			case reply.Type == protocol.TypeValue:
				return queryReply{value: reply.Value, found: true}
			}
			return queryReply{contacts: reply.Contacts}
		},
		timedOut: func(c protocol.Contact) { n.record(c, outcomeFailed) },
	}
	var err error
	if n.cfg.DisjointPaths > 1 {
		res, err = runDisjointLookup(ctx, p, n.cfg.DisjointPaths)
	} else {
		res, err = runLookup(ctx, p)
	}
	n.counters.lookups.Add(1)
	n.counters.lookupRequests.Add(uint64(res.rpcs))
	n.counters.lookupRounds.Add(uint64(res.rounds))
	if n.cfg.OnLookup != nil {
		n.cfg.OnLookup(LookupTrace{Target: target, Value: findValue, Found: res.found, Hops: res.hops,
			Rounds: res.rounds, RPCs: res.rpcs, Timeouts: res.timeouts, Took: time.Since(start), Err: err})
	}
	if err != nil {
		if cerr := n.closedErr(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	if res.found {
		n.counters.valuesFound.Add(1)
		if !res.cacheAt.ID.IsZero() {
			n.cache(res.cacheAt, res.cacheCloser, target, res.value)
		}
	}
	return res, nil
}

// cache stores a found value at c, the closest node of a lookup that answered without it
// (paper §2.3), so later lookups for a popular key end sooner. The copy's lifetime halves
// for every node closer to the key than c, so caches far from the key fade first (paper
// §2.5: "exponentially inversely proportional to the number of nodes between").
func (n *Node) cache(c protocol.Contact, closer int, key protocol.ID, value []byte) {
	ttl := n.cfg.RecordTTL >> min(closer, 20)
	n.goFunc(func() {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RPCTimeout)
		defer cancel()
		_, err := n.rpc(ctx, c, &protocol.Message{Type: protocol.TypeStore, Key: key, Value: value, TTL: ttlSeconds(ttl)})
		if err != nil {
			n.log.Debug("cache store failed", "peer", c.Addr, "err", err)
		}
	})
}

// Lookup finds the k nodes closest to key in the network (iterative FIND_NODE), closest
// first. The node itself is not in the list.
func (n *Node) Lookup(ctx context.Context, key protocol.ID) ([]protocol.Contact, error) {
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	res, err := n.lookup(ctx, key, false)
	if err != nil {
		return nil, err
	}
	return res.closest, nil
}

// nodeTracker is the tracker of a node's lookups: their requests' goroutines are the
// node's, which Close waits for.
type nodeTracker Node

func (t *nodeTracker) add() bool {
	n := (*Node)(t)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	return true
}

func (t *nodeTracker) done() { (*Node)(t).wg.Done() }
