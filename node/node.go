package node

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"kad/protocol"
	"kad/routing"
	"kad/store"
	"kad/transports"
)

// pingQueueLen bounds the liveness checks of full buckets waiting to be sent; more are
// dropped, and the bucket asks again on the next contact it cannot admit.
const pingQueueLen = 64

// probeQueueLen bounds the PINGs to requesters waiting to be sent, which prove their
// addresses before they enter the routing table; more are dropped, and the requester
// enters when its next request carries a token.
const probeQueueLen = 64

// newcomerQueueLen bounds the hand-offs to new contacts waiting to be sent; more are
// dropped, and replication brings those records within ReplicateInterval.
const newcomerQueueLen = 16

// Node is one Kademlia peer: a routing table, a store, a lookup engine and the handlers of
// the four RPCs, over any Transport. Its methods are safe for concurrent use.
type Node struct {
	cfg      Config
	tr       transports.Transport
	self     protocol.Contact
	verified bool
	// advertised is the address messages announce: the listening address if peers can
	// send to it, else none (a node bound to 0.0.0.0 is known by its observed address).
	advertised netip.AddrPort
	log        *slog.Logger
	table      *routing.Table
	store      store.Store

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // counts goroutines started by goFunc
	mu     sync.Mutex     // guards closed, so wg.Add never races wg.Wait
	closed bool
	once   sync.Once
	pings  *queue[protocol.Contact]
	// newcomers are contacts new to the routing table, for handOff.
	newcomers *queue[newcomer]
	// probes are requesters the routing table would take, to be pinged first;
	// probing holds them from their push until their PING ends, so that each is pinged
	// once however many requests it sends meanwhile.
	probes  *queue[protocol.Contact]
	probeMu sync.Mutex
	probing map[protocol.ID]struct{}

	// tokens issues and checks the address-validation tokens of this node; peerTokens
	// keeps those other nodes issued to it. provesAddrs is set when the transport proves
	// addresses itself (QUIC), so that no tokens or padding are needed.
	tokens      *tokenIssuer
	peerTokens  *tokenCache
	provesAddrs bool
	// noAddrValidation turns address validation off, for the tests that show what it
	// defends against.
	noAddrValidation atomic.Bool

	// rtt is the node's round-trip estimate over all contacts (rtt.go).
	rtt rttEstimate
	// suspects are the contacts outside the table whose last request failed (suspects.go).
	suspects suspectCache
	// reach is the node's reachability and the dial-backs it does for others.
	reach reach

	limiter  *sourceLimiter // nil when RequestRate < 0
	quotas   *senderQuotas
	counters counters
	// keyLocks order the writes of one key (of a stripe of keys), so that a record's
	// lifetime never shrinks; storeMu guards reserved, the bytes of writes the quota
	// allowed that the store may not count yet. No lock is held across another key's
	// write, so that writes to a store that syncs share their syncs.
	keyLocks [64]sync.Mutex
	storeMu  sync.Mutex
	reserved int64

	published store.Store // records this node put, republished every RepublishInterval
	// pubMu guards pubReserved, the places among the published records that Puts of new
	// keys under way have taken, so that together they stay within MaxPublished.
	pubMu       sync.Mutex
	pubReserved int
}

// New starts a node on tr. The node owns tr from then on and closes it in Close, also when
// New fails.
func New(cfg Config, tr transports.Transport) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		tr.Close()
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		tr:       tr,
		log:      cfg.Logger,
		store:    cfg.Store,
		pings:    newQueue[protocol.Contact](pingQueueLen),
		suspects: newSuspectCache(),

		newcomers: newQueue[newcomer](newcomerQueueLen),
		probes:    newQueue[protocol.Contact](probeQueueLen),
		probing:   make(map[protocol.ID]struct{}),

		tokens:     newTokenIssuer(time.Now()),
		peerTokens: newTokenCache(tokenCacheLen),

		published: cfg.Published,
	}
	n.self = protocol.Contact{ID: cfg.ID, Addr: tr.LocalAddr()}
	if protocol.CheckAddr(n.self.Addr) == nil {
		n.advertised = n.self.Addr
	}
	if idt, ok := tr.(transports.Identified); ok {
		n.provesAddrs = true
		if n.self.ID.IsZero() || n.self.ID == idt.LocalID() {
			n.self.ID = idt.LocalID()
			n.verified = true
		}
	}
	if n.self.ID.IsZero() {
		n.self.ID = protocol.RandomID(cfg.Rand)
	}
	if n.store == nil {
		n.store = store.NewMemory()
	}
	if n.published == nil {
		n.published = store.NewMemory()
	}
	rule := senderRule{Everywhere: cfg.SubnetLimitsEverywhere}
	n.reach.init(cfg, rule, time.Now())
	n.limiter = newSourceLimiter(cfg.RequestRate, cfg.RequestBurst, rule)
	// What the store already holds, from before a restart, is charged to no one.
	n.quotas = newSenderQuotas(cfg.MaxRecordsPerSender, cfg.MaxBytesPerSender, rule)
	n.table = routing.NewTable(n.self.ID, cfg.K)
	n.table.SetSubnetLimits(cfg.MaxPerSubnetBucket, cfg.MaxPerSubnetTable)
	n.table.SetSubnetLimitsEverywhere(cfg.SubnetLimitsEverywhere)
	// A transport that keeps connections (QUIC) keeps those to the routing table's
	// contacts when it must drop some for a stranger's.
	if k, ok := tr.(transports.Keeper); ok {
		k.SetKeep(n.table.Contains)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.log = n.log.With("self", n.self.ID.Short())
	if err := tr.Serve(n.handle); err != nil {
		n.cancel()
		tr.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	n.goFunc(n.maintain)
	return n, nil
}

// goFunc runs f in a goroutine that Close waits for; after Close it does nothing.
func (n *Node) goFunc(f func()) {
	if !(*nodeTracker)(n).add() {
		return
	}
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// advertisedAddr is the address the node's messages announce: none while it runs as a
// client, which does not want to be called.
func (n *Node) advertisedAddr() netip.AddrPort {
	if n.reach.client.Load() {
		return netip.AddrPort{}
	}
	return n.advertised
}

// ID returns the node's ID.
func (n *Node) ID() protocol.ID { return n.self.ID }

// Addr returns the address the node listens on.
func (n *Node) Addr() netip.AddrPort { return n.self.Addr }

// Contact returns the node's own contact.
func (n *Node) Contact() protocol.Contact { return n.self }

// Verified reports whether the transport proves this node's ID to peers.
func (n *Node) Verified() bool { return n.verified }

// Store returns the node's record store: Config.Store, or the in-memory store the node
// made. The node never closes it.
func (n *Node) Store() store.Store { return n.store }

// Contacts returns every contact in the routing table, closest to the node first.
func (n *Node) Contacts() []protocol.Contact {
	cs := n.table.All()
	protocol.SortByDistance(n.self.ID, cs)
	return cs
}

// Close stops the node: it cancels every operation in progress, closes the transport and
// returns once every goroutine the node started has ended. Later calls return nil.
func (n *Node) Close() error {
	var err error
	n.once.Do(func() {
		n.cancel()
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		err = n.tr.Close()
		n.wg.Wait()
	})
	return err
}

// opContext returns a context that ends with ctx or when the node closes.
func (n *Node) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

func (n *Node) closedErr() error {
	if n.ctx.Err() != nil {
		return ErrClosed
	}
	return nil
}
