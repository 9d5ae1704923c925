package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"kad/protocol"
	"kad/routing"
)

// Reachability detection (PROTOCOL.md, "Reachability"). A node behind a NAT or a
// firewall hears only from the addresses it sent to lately, yet its own requests would
// put it in the routing tables of everyone it asks, and from there in their NODES
// replies, where it costs every stranger who tries it a timeout. So a node checks: it
// asks a few contacts (helpers) to have a third node PING it, from an address it has not
// sent to. Such a PING arriving proves that strangers reach it; helpers that confirm
// their order went out while nothing arrives say that they do not. A node that strangers
// cannot reach runs as a client (the client flag): it stays out of others' tables and
// advertises no address, and switches back when a later check finds it reachable.

// ReachabilityMode says whether a node checks its reachability and serves by the result.
type ReachabilityMode uint8

const (
	// ReachabilityAuto checks, and runs as a client while strangers cannot reach it. It
	// serves until a check says otherwise.
	ReachabilityAuto ReachabilityMode = iota
	// ReachabilityPublic always serves and never checks: for nodes with a known public
	// address, and for networks where every node reaches every other.
	ReachabilityPublic
	// ReachabilityClient never serves, as Config.ClientOnly.
	ReachabilityClient
)

var reachabilityModeNames = [...]string{"auto", "public", "client"}

func (m ReachabilityMode) String() string {
	if int(m) < len(reachabilityModeNames) {
		return reachabilityModeNames[m]
	}
	return fmt.Sprintf("ReachabilityMode(%d)", m)
}

// ParseReachabilityMode parses "auto", "public" or "client".
func ParseReachabilityMode(s string) (ReachabilityMode, error) {
	for i, name := range reachabilityModeNames {
		if s == name {
			return ReachabilityMode(i), nil
		}
	}
	return 0, fmt.Errorf("reachability %q: want auto, public or client", s)
}

// Reachability is what a node knows of whether strangers can reach it.
type Reachability uint8

const (
	// ReachUnknown: not checked yet, or the checks said nothing either way (a network
	// too small to find a stranger, say).
	ReachUnknown Reachability = iota
	// ReachPublic: a PING from an address the node had not sent to reached it.
	ReachPublic
	// ReachPrivate: such PINGs were sent and none arrived: the node is behind a NAT or
	// a firewall.
	ReachPrivate
)

var reachabilityNames = [...]string{"unknown", "public", "private"}

func (r Reachability) String() string {
	if int(r) < len(reachabilityNames) {
		return reachabilityNames[r]
	}
	return fmt.Sprintf("Reachability(%d)", r)
}

const (
	// reachHelpers is how many contacts one check asks for a dial-back.
	reachHelpers = 4
	// reachMinMissing is how many confirmed dial-backs must fail to arrive, over the
	// rounds of a check, with none from a stranger arriving, for the check to find the
	// node unreachable: one lost datagram is not a NAT.
	reachMinMissing = 2
	// reachRounds is how many rounds a check runs at most while they decide nothing
	// (dial-backs from addresses the node had sent to, helpers that refused).
	reachRounds = 5
	// nonceSize is the length of the nonces of this node's checks.
	nonceSize = 8
	// dialBackSpacing is how long a helper waits before it takes another order from the
	// same requester, or dials the same target again; dialBackRate and dialBackBurst
	// bound the dial-back messages (orders and dial-backs) a node sends per second, for
	// everyone together. So no one can make a node a reflector: a dial-back goes to an
	// address that proved itself with a token, or, ordered by another node, to one
	// target at most once per spacing, and it is smaller than the order.
	dialBackRate  = 20
	dialBackBurst = 20
	// dialBackMemory bounds the requesters and targets a helper remembers for
	// dialBackSpacing; when it is full of recent ones, orders are refused.
	dialBackMemory = 256
)

// dialBackSpacing: see dialBackRate, in nanoseconds; the tests change it.
var dialBackSpacing atomic.Int64

func init() { dialBackSpacing.Store(int64(30 * time.Second)) }

// reach is a node's reachability: its state, the check under way, the addresses it
// sent to lately, and the limits of the dial-backs it does for others.
type reach struct {
	mode   ReachabilityMode
	state  atomic.Uint32 // a Reachability
	client atomic.Bool   // the node runs as a client
	// sent remembers the addresses this node sent to within the life of a NAT mapping;
	// nil unless mode is ReachabilityAuto.
	sent     *sentFilter
	checking atomic.Bool

	mu    sync.Mutex
	round *reachRound // the check under way, if any
	// helping holds the requesters and targets dial-backs were done for lately, by
	// sender (sourceKey), with when.
	helping map[sourceKey]time.Time
	limit   *rate.Limiter
	rule    senderRule
}

// reachRound is one round of a check: its nonce and what arrived with it. It stays the
// node's round after it decided, until the next begins, so that a dial-back that came
// too late for it still counts (dialBackArrived).
type reachRound struct {
	nonce [nonceSize]byte
	// fresh counts dial-backs from addresses the node had not sent to; known those from
	// addresses it had, which prove nothing. from holds their senders, each counted once.
	fresh, known int
	from         []netip.AddrPort
	arrival      chan struct{} // takes a token at each dial-back
	over         bool          // the round has decided, or given up
}

// init sets r up for a node of cfg.
func (r *reach) init(cfg Config, rule senderRule, now time.Time) {
	r.mode, r.rule = cfg.Reachability, rule
	r.limit = rate.NewLimiter(dialBackRate, dialBackBurst)
	if cfg.ClientOnly {
		r.mode = ReachabilityClient
	}
	switch r.mode {
	case ReachabilityClient:
		r.client.Store(true)
	case ReachabilityAuto:
		r.sent = newSentFilter(cfg.NATMappingLife, rule, now)
	}
}

// note records that the node sends to addr.
func (r *reach) note(addr netip.AddrPort) {
	if r.sent != nil {
		r.sent.add(addr, time.Now())
	}
}

// Reachability returns what the node knows of whether strangers reach it. A node whose
// mode is not ReachabilityAuto never checks, and reports ReachUnknown.
func (n *Node) Reachability() Reachability { return Reachability(n.reach.state.Load()) }

// Serving reports whether the node serves: whether it lets others put it in their
// routing tables and holds records for them. It is false for a client-only node and,
// under ReachabilityAuto, while strangers cannot reach it.
func (n *Node) Serving() bool { return !n.reach.client.Load() }

// CheckReachability runs one reachability check now and returns what the node knows
// after it. It does nothing, and returns ReachUnknown, unless the mode is
// ReachabilityAuto. A check already under way (the one after Bootstrap, say) is waited
// for first.
func (n *Node) CheckReachability(ctx context.Context) Reachability {
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	if n.reach.mode != ReachabilityAuto {
		return ReachUnknown
	}
	for !n.reach.checking.CompareAndSwap(false, true) {
		select {
		case <-ctx.Done():
			return n.Reachability()
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer n.reach.checking.Store(false)
	n.checkReachability(ctx)
	return n.Reachability()
}

// checkInBackground starts a check unless one is under way.
func (n *Node) checkInBackground() {
	if n.reach.mode != ReachabilityAuto || !n.reach.checking.CompareAndSwap(false, true) {
		return
	}
	n.goFunc(func() {
		defer n.reach.checking.Store(false)
		n.checkReachability(n.ctx)
	})
}

// checkReachability runs rounds of checks until one decides, up to reachRounds.
func (n *Node) checkReachability(ctx context.Context) {
	missing := 0
	for range reachRounds {
		decided, m := n.reachRound(ctx, missing)
		if decided || ctx.Err() != nil {
			return
		}
		missing += m
	}
}

// reachRound asks up to reachHelpers contacts for a dial-back and decides from what
// arrives: one dial-back from a stranger makes the node public; reachMinMissing
// confirmed ones that never came, counting the earlier rounds' missing, with no
// stranger's arriving, private. Anything else decides nothing: it reports false and
// how many were missing.
func (n *Node) reachRound(ctx context.Context, missing int) (decided bool, missed int) {
	helpers := n.table.AppendClosestLive(make([]protocol.Contact, 0, reachHelpers), protocol.RandomID(n.cfg.Rand), reachHelpers)
	if len(helpers) < 2 {
		// A helper needs a third node: with one contact there is none to ask.
		return true, 0
	}
	round := &reachRound{arrival: make(chan struct{}, 1)}
	rand.Read(round.nonce[:])
	n.reach.mu.Lock()
	n.reach.round = round
	n.reach.mu.Unlock()

	confirmed := make(chan bool, len(helpers))
	for _, h := range helpers {
		go func() {
			_, err := n.rpc(ctx, h, &protocol.Message{Type: protocol.TypePing, Flags: protocol.FlagDialBack, Nonce: round.nonce[:]})
			confirmed <- err == nil
		}()
	}
	orders := 0
	for range helpers {
		if <-confirmed {
			orders++
		}
	}
	// A helper answers once its third node has taken the order; the dial-back may still
	// be on its way. On an idle network it takes one trip from the third node, against
	// the helper's answer's four (here to the helper, to the third node and back, back
	// here), but a busy host sends it, or reads it, late: a dial-back this node missed
	// would make it withdraw from every table. So it waits as long as one request may
	// take, RPCTimeout, and a public node, whose dial-back ends the wait, loses nothing
	// by it; nor does one whose every dial-back came from an address it sent to. One
	// that comes later still counts (dialBackArrived).
	timeout := time.NewTimer(n.cfg.RPCTimeout)
	defer timeout.Stop()
	for waiting := true; waiting && !n.reach.settled(round, orders); {
		select {
		case <-round.arrival:
		case <-ctx.Done():
			waiting = false
		case <-timeout.C:
			waiting = false
		}
	}
	n.reach.mu.Lock()
	fresh, known := round.fresh, round.known
	round.over = true
	n.reach.mu.Unlock()
	if ctx.Err() != nil {
		return false, 0
	}
	missed = max(orders-known, 0) // with fresh 0; a helper that refused ordered nothing
	n.log.Debug("reachability round", "helpers", len(helpers), "orders", orders, "fresh", fresh, "known", known, "missing before", missing)
	switch {
	case fresh > 0:
		n.setReachability(ctx, ReachPublic)
	case missing+missed >= reachMinMissing:
		n.setReachability(ctx, ReachPrivate)
	default:
		return false, missed
	}
	return true, 0
}

// settled reports whether round has heard what it waits for: a dial-back from a
// stranger, or one for each of orders.
func (r *reach) settled(round *reachRound, orders int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return round.fresh > 0 || round.fresh+round.known >= orders
}

// setReachability records what a check found, and serves or stops serving by it.
func (n *Node) setReachability(ctx context.Context, s Reachability) {
	n.reach.mu.Lock() // a late dial-back may make the node public while a round decides
	old := Reachability(n.reach.state.Swap(uint32(s)))
	n.reach.client.Store(s == ReachPrivate)
	n.reach.mu.Unlock()
	if old == s {
		return
	}
	n.log.Debug("reachability", "state", s, "serving", s != ReachPrivate)
	if n.cfg.OnReachability != nil {
		n.cfg.OnReachability(s)
	}
	if s == ReachPrivate || old == ReachPrivate {
		n.tellContacts(ctx)
	}
}

// tellContacts PINGs the contacts of the routing table from the node's proven address,
// so that they learn at once whether it serves. A PING with the client flag takes it out
// of the receiver's table, where it would cost every stranger who finds it there a
// timeout; the node entered them while it served, through its own requests (its NAT let
// their PINGs back in). Those that took it in but are not in its table learn it when
// they next call it, and fail. A PING without the flag puts it back, where there is
// room, rather than at its next requests.
func (n *Node) tellContacts(ctx context.Context) {
	sem := make(chan struct{}, n.cfg.Alpha)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, c := range n.table.All() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			// The receiver acts on the client flag, and takes a contact in, only from a
			// proven address: without a token of its, the first PING fetches one for
			// the second.
			if !n.provesAddrs && n.peerTokens.get(c.Addr) == nil {
				if _, err := n.rpc(ctx, c, &protocol.Message{Type: protocol.TypePing}); err != nil {
					return
				}
			}
			n.rpc(ctx, c, &protocol.Message{Type: protocol.TypePing})
		})
	}
}

// dialBackArrived takes a PING that carries a nonce and nothing else: the dial-back of a
// check, if the nonce is the current check's.
func (n *Node) dialBackArrived(nonce []byte, from netip.AddrPort) {
	r := &n.reach
	if r.sent == nil || len(nonce) != nonceSize {
		return
	}
	// Whether from is an address this node sent to is asked before the answer to this
	// PING puts it there.
	known := r.sent.contains(from)
	r.mu.Lock()
	defer r.mu.Unlock()
	round := r.round
	if round == nil || string(round.nonce[:]) != string(nonce) || len(round.from) >= 2*reachHelpers {
		return
	}
	for _, a := range round.from {
		if a == from {
			return
		}
	}
	round.from = append(round.from, from)
	select {
	case round.arrival <- struct{}{}:
	default: // a token already waits
	}
	if known {
		round.known++
		return
	}
	round.fresh++
	if round.fresh == 1 && round.over && Reachability(r.state.Load()) != ReachPublic {
		// Too late for its round, which found the node private or decided nothing, yet
		// as good a proof as one in time.
		n.log.Debug("late dial-back", "from", from)
		n.goFunc(func() { n.setReachability(n.ctx, ReachPublic) })
	}
}

// errNoDialBack: a dial-back this node cannot do now.
var errNoDialBack = errors.New("no dial-back")

// allowHelp reports whether this node may do a dial-back for the sender at addr (a
// requester or a target) now, and if so remembers it for dialBackSpacing.
func (r *reach) allowHelp(addr netip.AddrPort, now time.Time) bool {
	key := r.rule.sender(addr)
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.helping[key]; ok && now.Sub(t) < time.Duration(dialBackSpacing.Load()) {
		return false
	}
	if r.helping == nil {
		r.helping = make(map[sourceKey]time.Time)
	}
	if len(r.helping) >= dialBackMemory {
		for k, t := range r.helping {
			if now.Sub(t) >= time.Duration(dialBackSpacing.Load()) {
				delete(r.helping, k)
			}
		}
		if len(r.helping) >= dialBackMemory {
			return false
		}
	}
	if !r.limit.AllowN(now, 1) {
		return false
	}
	r.helping[key] = now
	return true
}

// orderDialBack is the helper's part: it has a third node PING requester, whose address
// a token or the transport proved, with nonce, and returns once that node has taken
// the order. The third node is a routing-table contact other than the requester, at
// another IP where the requester's is public.
func (n *Node) orderDialBack(ctx context.Context, requester protocol.Contact, nonce []byte) error {
	if !n.reach.allowHelp(requester.Addr, time.Now()) {
		return fmt.Errorf("%w: too many dial-backs", errNoDialBack)
	}
	exempt := routing.AddrRule(n.reach.rule).Exempt(requester.Addr.Addr().Unmap())
	candidates := n.table.AppendClosestLive(make([]protocol.Contact, 0, 8), protocol.RandomID(n.cfg.Rand), 8)
	for _, c := range candidates {
		if c.ID == requester.ID || c.Addr == requester.Addr ||
			(!exempt && c.Addr.Addr().Unmap() == requester.Addr.Addr().Unmap()) {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, n.cfg.RPCTimeout/2)
		_, err := n.call(ctx, c, &protocol.Message{Type: protocol.TypePing, Nonce: nonce, Target: requester.Addr})
		cancel()
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w: the third node: %w", errNoDialBack, err)
	}
	return fmt.Errorf("%w: no third node", errNoDialBack)
}

// dialBack is the third node's part: it PINGs target with nonce, in the background, and
// returns at once.
func (n *Node) dialBack(target netip.AddrPort, nonce []byte) error {
	if target == n.self.Addr || target == n.advertised {
		return fmt.Errorf("%w: the target is this node", errNoDialBack)
	}
	if !n.reach.allowHelp(target, time.Now()) {
		return fmt.Errorf("%w: too many dial-backs", errNoDialBack)
	}
	nonce = append([]byte(nil), nonce...)
	n.goFunc(func() {
		n.rpc(n.ctx, protocol.Contact{Addr: target}, &protocol.Message{Type: protocol.TypePing, Nonce: nonce})
	})
	return nil
}

// sentFilter remembers, with no false negatives and a few false positives, the
// addresses a node sent to within the life of a NAT mapping: two Bloom filters of
// sentFilterBits bits, one per period of that life, the older cleared as a new period
// begins, so the two cover the last one to two lives. Addresses count as senders do
// (senderRule): a public address by its IP, so that an address-restricted NAT, which
// lets in anything from an IP its host sent to, is covered too. A false positive only
// makes a check ignore a dial-back. 2 KiB, and no lock on the way of a send.
type sentFilter struct {
	life  int64 // nanoseconds
	epoch time.Time
	rule  senderRule
	seed  maphash.Seed

	mu     sync.Mutex // held to start a period
	period atomic.Int64
	bits   [2][sentFilterWords]atomic.Uint64
}

const (
	sentFilterBits  = 8192
	sentFilterWords = sentFilterBits / 64
)

func newSentFilter(life time.Duration, rule senderRule, now time.Time) *sentFilter {
	return &sentFilter{life: int64(life), epoch: now, rule: rule, seed: maphash.MakeSeed()}
}

// positions returns the two bits of addr.
func (f *sentFilter) positions(addr netip.AddrPort) (uint64, uint64) {
	h := maphash.Comparable(f.seed, f.rule.sender(addr))
	return h % sentFilterBits, (h >> 32) % sentFilterBits
}

// turn starts the period of now if it has not begun, and returns it.
func (f *sentFilter) turn(now time.Time) int64 {
	p := int64(now.Sub(f.epoch)) / f.life
	if p == f.period.Load() {
		return p
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur := f.period.Load(); p > cur {
		for g := range 2 {
			if p-cur >= 2 || g == int(p&1) {
				for i := range f.bits[g] {
					f.bits[g][i].Store(0)
				}
			}
		}
		f.period.Store(p)
	}
	return f.period.Load()
}

func (f *sentFilter) add(addr netip.AddrPort, now time.Time) {
	a, b := f.positions(addr)
	for {
		p := f.turn(now)
		g := &f.bits[p&1]
		g[a/64].Or(1 << (a % 64))
		g[b/64].Or(1 << (b % 64))
		if f.period.Load() == p { // not cleared under us by a new period
			return
		}
	}
}

func (f *sentFilter) contains(addr netip.AddrPort) bool {
	f.turn(time.Now())
	a, b := f.positions(addr)
	for g := range f.bits {
		if f.bits[g][a/64].Load()&(1<<(a%64)) != 0 && f.bits[g][b/64].Load()&(1<<(b%64)) != 0 {
			return true
		}
	}
	return false
}

// dialBackPart tells handle which part of a dial-back a PING asks of it: the helper's
// (order), the third node's (dialBack), or none, being the dial-back itself (arrival).
func dialBackPart(req *protocol.Message) (order, dialBack, arrival bool) {
	if req.Type != protocol.TypePing || len(req.Nonce) == 0 {
		return false, false, false
	}
	switch {
	case req.Flags&protocol.FlagDialBack != 0:
		return true, false, false
	case req.Target.IsValid():
		return false, true, false
	}
	return false, false, true
}
