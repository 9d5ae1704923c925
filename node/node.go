package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"kad/protocol"
	"kad/transports"
)

// pingQueueLen bounds the liveness checks of full buckets waiting to be sent; more are
// dropped, and the bucket asks again on the next contact it cannot admit.
const pingQueueLen = 64

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
	table      *RoutingTable
	store      Store

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // counts goroutines started by goFunc
	mu     sync.Mutex     // guards closed, so wg.Add never races wg.Wait
	closed bool
	once   sync.Once
	pings  chan protocol.Contact

	limiter  *sourceLimiter // nil when RequestRate < 0
	counters counters
	storeMu  sync.Mutex // serializes the quota check with the write it allows

	pubMu     sync.Mutex
	published map[protocol.ID][]byte // records this node put, republished every RepublishInterval
}

// New starts a node on tr. The node owns tr from then on and closes it in Close, also when
// New fails.
func New(cfg Config, tr transports.Transport) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		tr.Close()
		return nil, err
	}
	n := &Node{
		cfg:   cfg,
		tr:    tr,
		log:   cfg.Logger,
		store: cfg.Store,
		pings: make(chan protocol.Contact, pingQueueLen),

		published: make(map[protocol.ID][]byte),
	}
	n.self = protocol.Contact{ID: cfg.ID, Addr: tr.LocalAddr()}
	if protocol.CheckAddr(n.self.Addr) == nil {
		n.advertised = n.self.Addr
	}
	if idt, ok := tr.(transports.Identified); ok {
		if n.self.ID.IsZero() || n.self.ID == idt.LocalID() {
			n.self.ID = idt.LocalID()
			n.verified = true
		}
	}
	if n.self.ID.IsZero() {
		n.self.ID = protocol.RandomID(cfg.Rand)
	}
	if n.store == nil {
		n.store = NewMemoryStore()
	}
	n.limiter = newSourceLimiter(cfg.RequestRate, cfg.RequestBurst)
	n.table = NewRoutingTable(n.self.ID, cfg.K)
	n.table.SetSubnetLimits(cfg.MaxPerSubnetBucket, cfg.MaxPerSubnetTable)
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
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// ID returns the node's ID.
func (n *Node) ID() protocol.ID { return n.self.ID }

// Addr returns the address the node listens on.
func (n *Node) Addr() netip.AddrPort { return n.self.Addr }

// Contact returns the node's own contact.
func (n *Node) Contact() protocol.Contact { return n.self }

// Verified reports whether the transport proves this node's ID to peers.
func (n *Node) Verified() bool { return n.verified }

// Table returns the node's routing table.
func (n *Node) Table() *RoutingTable { return n.table }

// Store returns the node's record store.
func (n *Node) Store() Store { return n.store }

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

// seen records a live contact, queueing the liveness check of a full bucket's oldest
// contact without blocking.
func (n *Node) seen(c protocol.Contact) {
	res := n.table.Seen(c)
	if res.ping.ID.IsZero() {
		return
	}
	select {
	case n.pings <- res.ping:
	default:
		// Queue full: give the bucket its chance to ask again later.
		n.table.PingDone(res.ping, true)
	}
}

// maintain is the node's one background goroutine: it checks the liveness of the oldest
// contacts of full buckets, a few at a time, and removes expired records.
func (n *Node) maintain() {
	sem := make(chan struct{}, n.cfg.Alpha)
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
	)
	// A timer posts its task when it fires; the loop re-arms it when it takes the task.
	due := make(chan int, 4)
	periods := []time.Duration{
		taskExpire:    n.cfg.ExpireInterval,
		taskRefresh:   n.cfg.RefreshInterval,
		taskReplicate: n.cfg.ReplicateInterval,
		taskRepublish: n.cfg.RepublishInterval,
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
				background(&refreshing, n.refresh)
			case taskReplicate:
				background(&replicating, n.replicate)
			case taskRepublish:
				background(&republishing, n.republish)
			}
		case c := <-n.pings:
			select {
			case sem <- struct{}{}:
			case <-n.ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				_, err := n.rpc(n.ctx, c, &protocol.Message{Type: protocol.TypePing})
				n.table.PingDone(c, err == nil || errors.Is(err, ErrClosed))
			}()
		}
	}
}

// Put stores value under key at the k nodes closest to key, and returns how many stored
// it. It fails only if none did. The node republishes the record every RepublishInterval
// for as long as it runs (paper §2.5), so that it outlives RecordTTL.
func (n *Node) Put(ctx context.Context, key protocol.ID, value []byte) (int, error) {
	if len(value) > protocol.MaxValueSize {
		return 0, fmt.Errorf("put %s: %w: %d bytes, limit %d", key.Short(), ErrValueTooLarge, len(value), protocol.MaxValueSize)
	}
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	stored, err := n.put(ctx, key, value, n.cfg.RecordTTL, true)
	if err != nil {
		return 0, err
	}
	n.pubMu.Lock()
	n.published[key] = append([]byte(nil), value...)
	n.pubMu.Unlock()
	return stored, nil
}

// Unpublish stops the republishing of a key this node put. The copies in the network
// live out their lifetime (RecordTTL from the last put) and expire; this node's own copy
// too.
func (n *Node) Unpublish(key protocol.ID) {
	n.pubMu.Lock()
	delete(n.published, key)
	n.pubMu.Unlock()
}

// put stores value under key, to live ttl, at the k nodes closest to key, this node
// among them if it is one of the k closest and keepLocal is set.
func (n *Node) put(ctx context.Context, key protocol.ID, value []byte, ttl time.Duration, keepLocal bool) (int, error) {
	closest, err := n.Lookup(ctx, key)
	if err != nil && !errors.Is(err, ErrNoContacts) {
		return 0, fmt.Errorf("put %s: %w", key.Short(), err)
	}
	return n.storeAtClosest(ctx, closest, key, value, ttl, keepLocal)
}

// storeAtClosest sends STORE to each of closest, the result of a lookup for key, and
// keeps a copy if keepLocal is set and this node is among the k closest.
func (n *Node) storeAtClosest(ctx context.Context, closest []protocol.Contact, key protocol.ID, value []byte, ttl time.Duration, keepLocal bool) (int, error) {
	stored := 0
	if keepLocal && (len(closest) < n.cfg.K || n.closerThanLast(key, closest)) {
		// This node is among the k closest: it keeps a copy too.
		if err := n.storeLocal(key, value, ttl, n.self.ID); err == nil {
			stored++
			if len(closest) == n.cfg.K {
				closest = closest[:n.cfg.K-1]
			}
		}
	}
	secs := uint32(min(max(ttl/time.Second, 1), 1<<32-1))
	results := make(chan error, len(closest))
	for _, c := range closest {
		go func() {
			_, err := n.rpc(ctx, c, &protocol.Message{Type: protocol.TypeStore, Key: key, Value: value, TTL: secs})
			results <- err
		}()
	}
	var lastErr error
	for range closest {
		if err := <-results; err == nil {
			stored++
		} else {
			lastErr = err
		}
	}
	if stored == 0 {
		if lastErr == nil {
			lastErr = ErrNoContacts
		}
		if cerr := n.closedErr(); cerr != nil {
			lastErr = cerr
		}
		return 0, fmt.Errorf("put %s: stored nowhere: %w", key.Short(), lastErr)
	}
	return stored, nil
}

// closerThanLast reports whether this node is closer to key than the last of closest.
func (n *Node) closerThanLast(key protocol.ID, closest []protocol.Contact) bool {
	return key.CmpDistance(n.self.ID, closest[len(closest)-1].ID) < 0
}

func (n *Node) storeLocal(key protocol.ID, value []byte, ttl time.Duration, publisher protocol.ID) error {
	n.storeMu.Lock()
	defer n.storeMu.Unlock()
	now := time.Now()
	expires := now.Add(ttl)
	grow := int64(len(value))
	// The zero time reads the record even if it has expired: its bytes still count.
	if old, ok := n.store.Get(key, time.Time{}); ok {
		grow -= int64(len(old.Value))
		if old.Expires.After(expires) {
			// A shorter-lived copy (a cache, or a replica of an older STORE) never cuts
			// short the life a record already has.
			expires = old.Expires
		}
	}
	if grow > 0 && n.store.Bytes()+grow > n.cfg.MaxStoreBytes {
		return fmt.Errorf("%w: %d of %d bytes used", ErrStoreFull, n.store.Bytes(), n.cfg.MaxStoreBytes)
	}
	return n.store.Put(Record{Key: key, Value: value, Expires: expires, Stored: now, Publisher: publisher})
}

// expire removes the records whose lifetime has passed.
func (n *Node) expire(now time.Time) {
	var dead []protocol.ID
	n.store.Range(func(r Record) bool {
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			dead = append(dead, r.Key)
		}
		return true
	})
	n.storeMu.Lock()
	defer n.storeMu.Unlock()
	for _, key := range dead {
		// Re-check: the record may have been stored again since.
		if _, ok := n.store.Get(key, now); ok {
			continue
		}
		if err := n.store.Delete(key); err != nil {
			n.log.Warn("expire failed", "key", key.Short(), "err", err)
		}
	}
}

// Get returns the value stored under key: from this node's store if it holds it, else
// from an iterative FIND_VALUE lookup. It returns ErrNotFound when no node answered with it.
func (n *Node) Get(ctx context.Context, key protocol.ID) ([]byte, error) {
	if r, ok := n.store.Get(key, time.Now()); ok {
		return append([]byte(nil), r.Value...), nil
	}
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	res, err := n.lookup(ctx, key, true)
	if err != nil {
		if errors.Is(err, ErrNoContacts) {
			return nil, fmt.Errorf("get %s: %w", key.Short(), ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", key.Short(), err)
	}
	if !res.found {
		return nil, fmt.Errorf("get %s: %w", key.Short(), ErrNotFound)
	}
	return res.value, nil
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
	n.refreshFarBuckets(ctx)
	return n.closedErr()
}

// refreshFarBuckets looks up a random ID in every bucket farther than the closest
// neighbour, so the table learns of every part of the ID space.
func (n *Node) refreshFarBuckets(ctx context.Context) {
	closest := n.table.Closest(n.self.ID, 1)
	if len(closest) == 0 {
		return
	}
	nearest := n.self.ID.CommonPrefixLen(closest[0].ID)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := 0; i < nearest; i++ {
		target := n.self.ID.RandomInBucket(i, n.cfg.Rand)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := n.Lookup(ctx, target); err != nil {
				n.log.Debug("bucket refresh", "bucket", i, "err", err)
			}
		}()
	}
	wg.Wait()
}
