package node_test

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
)

// TestReachabilityBehindNAT puts a node behind the mem network's port-restricted NAT:
// its check finds that strangers cannot reach it, it runs as a client and the nodes it
// calls drop it from their tables; once the NAT is gone, the next check finds it public
// and it serves again.
func TestReachabilityBehindNAT(t *testing.T) {
	const life = 150 * time.Millisecond // of the NAT's mappings, and as the node takes it
	// Helpers take a requester's orders, and dial a target, once per spacing: here
	// checks follow each other closer than they would.
	defer node.SetDialBackSpacing(life)()
	var mu sync.Mutex
	var changes []node.Reachability
	c := cluster.New(t, 20, cluster.Options{
		Config:    node.Config{K: 4, NATMappingLife: life, ReachabilityInterval: time.Hour},
		JoinPeers: 2,
		Seed:      11,
		Configure: func(i int, cfg *node.Config) {
			if i == 20 {
				// A round waits this long for dial-backs that do not come.
				cfg.RPCTimeout = 300 * time.Millisecond
				cfg.OnReachability = func(r node.Reachability) {
					mu.Lock()
					changes = append(changes, r)
					mu.Unlock()
				}
			}
		},
	})
	x, err := c.Add()
	if err != nil {
		t.Fatal(err)
	}
	c.Network.SetNAT(x.Addr(), life)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Join(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if !x.Serving() {
		// The check that follows Bootstrap may already have decided; it must not have
		// decided wrongly.
		if got := x.Reachability(); got != node.ReachPrivate {
			t.Fatalf("not serving, reachability %v", got)
		}
	}
	// Past the life of every mapping, the nodes it joined through are strangers again.
	filtered := c.Network.Stats().Filtered
	if got := checkUntil(ctx, x, node.ReachPrivate, life); got != node.ReachPrivate {
		t.Fatalf("behind a NAT: reachability %v, want private", got)
	}
	if x.Serving() {
		t.Fatal("behind a NAT: still serving")
	}
	if c.Network.Stats().Filtered == filtered {
		t.Error("no dial-back was refused by the NAT")
	}
	// Going private, it told its contacts, which dropped it.
	byID := map[protocol.ID]*node.Node{}
	for _, n := range c.Nodes[:20] {
		byID[n.ID()] = n
	}
	for _, ct := range x.Contacts() {
		if n := byID[ct.ID]; n != nil && knows(n, x.ID()) {
			t.Errorf("contact %s keeps the node that withdrew", ct.ID.Short())
		}
	}
	// A client's requests take it out of the tables of those it calls.
	for _, n := range c.Nodes[:20] {
		if _, err := x.Ping(ctx, n.Contact()); err != nil {
			t.Fatalf("ping %s: %v", n.ID().Short(), err)
		}
	}
	for i, n := range c.Nodes[:20] {
		if knows(n, x.ID()) {
			t.Errorf("node %d keeps the NAT'd node in its table", i)
		}
	}

	c.Network.SetNAT(x.Addr(), 0)
	// It just pinged everyone: checkUntil lets that be forgotten first.
	if got := checkUntil(ctx, x, node.ReachPublic, life); got != node.ReachPublic {
		t.Fatalf("NAT removed: reachability %v, want public", got)
	}
	if !x.Serving() {
		t.Fatal("NAT removed: not serving")
	}
	mu.Lock()
	got := slices.Compact(slices.Clone(changes))
	mu.Unlock()
	if want := []node.Reachability{node.ReachPrivate, node.ReachPublic}; !slices.Equal(got, want) {
		t.Errorf("OnReachability saw %v, want %v", got, want)
	}
}

// TestReachabilityPublicNode: a node no NAT hides is found public by its check.
func TestReachabilityPublicNode(t *testing.T) {
	const life = 100 * time.Millisecond
	defer node.SetDialBackSpacing(life)()
	c := cluster.New(t, 12, cluster.Options{
		Config: node.Config{K: 4, NATMappingLife: life, ReachabilityInterval: time.Hour}, JoinPeers: 2, Seed: 12,
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x := c.Nodes[11]
	if got := checkUntil(ctx, x, node.ReachPublic, life); got != node.ReachPublic || !x.Serving() {
		t.Fatalf("reachability %v, serving %v; want public, serving", got, x.Serving())
	}
	// A node told it is public never checks.
	p := cluster.New(t, 3, cluster.Options{Config: node.Config{Reachability: node.ReachabilityPublic}, Seed: 13})
	if got := p.Nodes[2].CheckReachability(ctx); got != node.ReachUnknown {
		t.Errorf("ReachabilityPublic node: check says %v, want unknown", got)
	}
}

// TestReachabilityLateDialBacks: a node whose dial-backs reach it late, as on a busy
// host, is not found private. Dial-backs within one RPC timeout of the helpers' answers
// decide their round; one later than that still makes the node public, and puts it back
// in its contacts' tables if its round had taken it out.
func TestReachabilityLateDialBacks(t *testing.T) {
	const life = 100 * time.Millisecond
	defer node.SetDialBackSpacing(life)()
	seen := map[int]*reachabilitySeen{13: {}, 14: {}}
	c := cluster.New(t, 15, cluster.Options{
		Config: node.Config{K: 4, NATMappingLife: life, ReachabilityInterval: time.Hour}, JoinPeers: 2, Seed: 17,
		Configure: func(i int, cfg *node.Config) {
			if r := seen[i]; r != nil {
				r.hook(cfg)
			}
			switch i {
			case 13: // ample, on a busy machine, for dial-backs 300 ms late
				cfg.RPCTimeout = 3 * time.Second
			case 14:
				cfg.RPCTimeout = 200 * time.Millisecond
			}
		},
		Wrap: func(i int, tr transports.Transport) transports.Transport {
			switch i {
			case 13: // within its RPC timeout
				return &lateDialBacks{Transport: tr, delay: 300 * time.Millisecond}
			case 14: // past its RPC timeout, 200 ms
				return &lateDialBacks{Transport: tr, delay: 500 * time.Millisecond}
			}
			return tr
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	in := c.Nodes[13]
	if got := checkUntil(ctx, in, node.ReachPublic, life); got != node.ReachPublic || !in.Serving() {
		t.Fatalf("dial-backs 300 ms late: reachability %v, serving %v; want public, serving", got, in.Serving())
	}
	if got := seen[13].changes(); slices.Contains(got, node.ReachPrivate) {
		t.Errorf("dial-backs 300 ms late: OnReachability saw %v, the node was found private", got)
	}

	past := c.Nodes[14]
	for range 5 {
		time.Sleep(3 * life)
		past.CheckReachability(ctx)
		time.Sleep(700 * time.Millisecond) // for the dial-backs, and what they start
		if past.Reachability() == node.ReachPublic {
			break
		}
	}
	if got := past.Reachability(); got != node.ReachPublic || !past.Serving() {
		t.Fatalf("dial-backs 500 ms late: reachability %v, serving %v; want public, serving (seen %v)", got, past.Serving(), seen[14].changes())
	}
	if slices.Contains(seen[14].changes(), node.ReachPrivate) {
		// A round found it private and it withdrew; the late dial-back made it public,
		// and its contacts took it in again.
		time.Sleep(100 * time.Millisecond)
		back := 0
		for _, ct := range past.Contacts() {
			for _, n := range c.Nodes {
				if n.ID() == ct.ID && knows(n, past.ID()) {
					back++
				}
			}
		}
		// Not all: some have filled its place in their tables meanwhile.
		if all := len(past.Contacts()); 2*back < all {
			t.Errorf("after the late dial-back, %d of its %d contacts know the node again, want half or more (OnReachability saw %v)", back, all, seen[14].changes())
		}
	}
}

// lateDialBacks is a transport that holds dial-backs (PINGs that carry a nonce alone)
// for delay before the node hears them.
type lateDialBacks struct {
	transports.Transport
	delay time.Duration
}

func (l *lateDialBacks) Serve(h transports.Handler) error {
	return l.Transport.Serve(func(ctx context.Context, from transports.Peer, b []byte) ([]byte, error) {
		if m, err := protocol.Decode(b); err == nil && m.Type == protocol.TypePing && len(m.Nonce) > 0 &&
			!m.Target.IsValid() && m.Flags&protocol.FlagDialBack == 0 {
			time.Sleep(l.delay)
		}
		return h(ctx, from, b)
	})
}

// reachabilitySeen records what OnReachability of one node reports.
type reachabilitySeen struct {
	mu   sync.Mutex
	seen []node.Reachability
}

// hook sets cfg.OnReachability to record into r.
func (r *reachabilitySeen) hook(cfg *node.Config) {
	cfg.OnReachability = func(s node.Reachability) {
		r.mu.Lock()
		r.seen = append(r.seen, s)
		r.mu.Unlock()
	}
}

// changes returns what OnReachability reported so far, in order.
func (r *reachabilitySeen) changes() []node.Reachability {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// checkUntil runs checks of n, each after three mapping lives (so that the addresses it
// sent to are strangers again, to its NAT and to its memory), until n is found want or
// five have run, as a node's periodic checks would. A check may settle nothing: every
// dial-back came from an address n had just sent to, or from helpers still within their
// spacing. A wrong decision on the way does not pass unseen: the callers check what
// OnReachability saw, or the state after.
func checkUntil(ctx context.Context, n *node.Node, want node.Reachability, life time.Duration) node.Reachability {
	var got node.Reachability
	for range 5 {
		time.Sleep(3 * life)
		if got = n.CheckReachability(ctx); got == want {
			break
		}
	}
	return got
}

// dialBackCatcher is a transport beside a cluster that counts the dial-backs it gets.
type dialBackCatcher struct {
	transports.Transport
	mu   sync.Mutex
	got  int
	from []netip.AddrPort
}

func newDialBackCatcher(t *testing.T, nw *mem.Network) *dialBackCatcher {
	t.Helper()
	tr, err := nw.NewTransport()
	if err != nil {
		t.Fatal(err)
	}
	d := &dialBackCatcher{Transport: tr}
	self := protocol.RandomID(nil)
	if err := tr.Serve(func(_ context.Context, from transports.Peer, b []byte) ([]byte, error) {
		m, err := protocol.Decode(b)
		if err != nil {
			return nil, err
		}
		if m.Type == protocol.TypePing && len(m.Nonce) > 0 {
			d.mu.Lock()
			d.got++
			d.from = append(d.from, from.Addr)
			d.mu.Unlock()
		}
		return m.Reply(protocol.TypePong, self, netip.AddrPort{}).Encode()
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return d
}

func (d *dialBackCatcher) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got
}

// TestDialBackNeedsProvenAddress: a dial-back request from an address that has not
// proven itself with a token is refused, so a forged source cannot have a node order
// PINGs to a victim; with the token, the dial-back comes, from a third node.
func TestDialBackNeedsProvenAddress(t *testing.T) {
	c := cluster.New(t, 4, cluster.Options{Config: node.Config{Reachability: node.ReachabilityPublic}, Seed: 14})
	d := newDialBackCatcher(t, c.Network)
	helper := c.Nodes[0].Contact()
	req := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil),
		Flags: protocol.FlagDialBack, Nonce: []byte("12345678")}
	reply := callRaw(t, d, helper, encode(t, req))
	if reply.Type != protocol.TypeError || reply.ErrCode != protocol.CodeToken {
		t.Fatalf("dial-back request without a token: %s code %d, want ERROR %d", reply.Type, reply.ErrCode, protocol.CodeToken)
	}
	time.Sleep(100 * time.Millisecond)
	if n := d.count(); n != 0 {
		t.Fatalf("%d dial-backs after a request without a token", n)
	}
	if reply := call(t, d, helper, encode(t, req)); reply.Type != protocol.TypePong {
		t.Fatalf("dial-back request with the token: %s %q, want PONG", reply.Type, reply.ErrText)
	}
	waitFor(t, func() bool { return d.count() == 1 })
	if from := d.from[0]; from == helper.Addr || from == d.LocalAddr() {
		t.Errorf("dial-back came from %s, want a third node", from)
	}
	// The same requester again, at once: refused, and nothing sent.
	again := *req
	again.RPCID = protocol.NewRPCID()
	if reply := call(t, d, helper, encode(t, &again)); reply.Type != protocol.TypeError || reply.ErrCode != protocol.CodeRefused {
		t.Errorf("second dial-back request at once: %s code %d, want ERROR %d", reply.Type, reply.ErrCode, protocol.CodeRefused)
	}
}

// TestDialBackOrdersAreBounded: a node ordered to dial back a target PINGs it once per
// spacing however many orders come, from however many requesters, and only for
// requesters whose address is proven; each dial-back is smaller than its order.
func TestDialBackOrdersAreBounded(t *testing.T) {
	c := cluster.New(t, 1, cluster.Options{Config: node.Config{Reachability: node.ReachabilityPublic}, Seed: 15})
	victim := newDialBackCatcher(t, c.Network)
	third := c.Nodes[0].Contact()
	order := func(from transports.Transport, withToken bool) *protocol.Message {
		m := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: protocol.RandomID(nil),
			Nonce: []byte("12345678"), Target: victim.LocalAddr()}
		if withToken {
			return call(t, from, third, encode(t, m))
		}
		return callRaw(t, from, third, encode(t, m))
	}
	forger := rawTransport(t, c.Network)
	if reply := order(forger, false); reply.ErrCode != protocol.CodeToken {
		t.Fatalf("order without a token: %s code %d, want ERROR %d", reply.Type, reply.ErrCode, protocol.CodeToken)
	}
	var orders []transports.Transport
	for range 5 {
		orders = append(orders, rawTransport(t, c.Network))
	}
	pongs := 0
	for _, tr := range orders {
		if reply := order(tr, true); reply.Type == protocol.TypePong {
			pongs++
		}
	}
	if pongs != 1 {
		t.Errorf("%d of 5 orders for one target taken, want 1", pongs)
	}
	waitFor(t, func() bool { return victim.count() >= 1 })
	time.Sleep(100 * time.Millisecond)
	if n := victim.count(); n != 1 {
		t.Errorf("the target got %d dial-backs, want 1", n)
	}
	st := c.Nodes[0].Stats()
	if got := st.ReceivedOf(protocol.TypePing, node.ReceivedNoDialBack); got != 4 {
		t.Errorf("%d orders counted as no_dial_back, want 4", got)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}

// TestClientFlagCannotEvict: a request that claims a contact's ID with the client flag
// takes that contact out of the table only from the contact's own, proven address; a
// forger elsewhere, with or without a token of its own, evicts no one.
func TestClientFlagCannotEvict(t *testing.T) {
	c := cluster.New(t, 2, cluster.Options{Config: node.Config{Reachability: node.ReachabilityPublic}, Seed: 16})
	a, b := c.Nodes[0], c.Nodes[1]
	if !knows(a, b.ID()) {
		t.Fatal("b is not in a's table to begin with")
	}
	forger := rawTransport(t, c.Network)
	claim := func() []byte {
		return encode(t, &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: b.ID(), Flags: protocol.FlagClient})
	}
	callRaw(t, forger, a.Contact(), claim())
	call(t, forger, a.Contact(), claim())
	if !knows(a, b.ID()) {
		t.Fatal("a forged client flag under b's ID evicted b from a's table")
	}
}
