package quic

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/protocol"
	"kad/transports"
)

// peerConn is one open connection, dialed or accepted, and what its handshake proved.
type peerConn struct {
	conn *qgo.Conn
	addr netip.AddrPort
	id   certIdentity
	peer transports.Peer // as handlers see it
	// incoming: the peer dialed this connection.
	incoming bool
	// dg carries requests in datagrams; nil when either side does not support them.
	dg *dgConn

	// Guarded by connCache.mu.
	elem    *list.Element // in connCache.lru; nil once dropped
	active  int           // calls in flight
	serving int           // incoming requests being answered
	// lastUse is when a stream of the connection last started or ended; linger how long
	// it may then stay unused before it is closed (Options.Linger).
	lastUse time.Time
	linger  time.Duration
}

// match returns the Peer a call under want sees, or an error wrapping
// transports.ErrIDMismatch.
func (pc *peerConn) match(want protocol.ID) (transports.Peer, error) {
	p := transports.Peer{Addr: pc.addr}
	switch {
	case want.IsZero():
		p.ID, p.Verified = pc.id.claimed, pc.id.verified()
	case want == pc.id.derived:
		p.ID, p.Verified = pc.id.derived, true
	case want == pc.id.claimed:
		p.ID, p.Verified = pc.id.claimed, false
	default:
		if pc.id.verified() {
			return p, fmt.Errorf("%w: got %s, want %s", transports.ErrIDMismatch, pc.id.claimed, want)
		}
		return p, fmt.Errorf("%w: got %s (unverified; its key proves %s), want %s",
			transports.ErrIDMismatch, pc.id.claimed, pc.id.derived, want)
	}
	return p, nil
}

// pendingDial is a handshake in progress that every caller of its address waits on.
type pendingDial struct {
	done chan struct{}
	pc   *peerConn // set with err before done closes
	err  error
}

// connCache holds the open connections: one per address for calls to use, and all of
// them in least-recently-used order for the cap.
type connCache struct {
	mu     sync.Mutex
	byAddr map[netip.AddrPort]*peerConn // the connection calls to an address use
	lru    *list.List                   // every open connection, most recently used first
	dials  map[netip.AddrPort]*pendingDial
	keep   func(protocol.ID) bool // Options.Keep or SetKeep's; nil keeps none
	// lingers holds when the connections that ended lately were last used, by address,
	// at most Options.MaxConns of them, for 2·MaxLinger (lingerForLocked); lingersPeak
	// is the most it held since it was last made anew (forgetLocked).
	lingers     map[memoKey]memoTime
	lingersPeak int
	epoch       time.Time // of memoTime
}

// SetKeep replaces Options.Keep, for a node whose routing table exists only once the
// transport does: tr.SetKeep(table.Contains). nil keeps no peer. It is safe for
// concurrent use; the rules of Options.Keep apply to keep.
func (t *Transport) SetKeep(keep func(id protocol.ID) bool) {
	t.cache.mu.Lock()
	t.cache.keep = keep
	t.cache.mu.Unlock()
}

func (c *connCache) init(keep func(protocol.ID) bool) {
	c.keep = keep
	c.byAddr = make(map[netip.AddrPort]*peerConn)
	c.lru = list.New()
	c.dials = make(map[netip.AddrPort]*pendingDial)
	c.lingers = make(map[memoKey]memoTime)
	c.epoch = time.Now()
}

func (c *connCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// dropLocked removes pc from the cache; it does not close it.
func (c *connCache) dropLocked(pc *peerConn) {
	if pc.elem != nil {
		c.lru.Remove(pc.elem)
		pc.elem = nil
	}
	if c.byAddr[pc.addr] == pc {
		delete(c.byAddr, pc.addr)
		c.byAddr = emptied(c.byAddr)
	}
}

// emptied returns m, or a new map if m is empty: a Go map keeps the room of the most it
// ever held, and a node that once talked to many peers would keep it while idle. An
// empty new map holds no room until its first entry.
func emptied[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return make(map[K]V)
	}
	return m
}

// forget stops calls from using pc, found dead.
func (c *connCache) forget(pc *peerConn) {
	c.mu.Lock()
	c.dropLocked(pc)
	c.mu.Unlock()
}

// release ends a call on pc.
func (c *connCache) release(pc *peerConn) {
	c.mu.Lock()
	pc.active--
	pc.lastUse = time.Now()
	c.mu.Unlock()
}

// startServing records an incoming request on pc; endServing its end.
func (c *connCache) startServing(pc *peerConn) {
	c.mu.Lock()
	pc.serving++
	pc.lastUse = time.Now()
	if pc.elem != nil {
		c.lru.MoveToFront(pc.elem)
	}
	c.mu.Unlock()
}

func (c *connCache) endServing(pc *peerConn) {
	c.mu.Lock()
	pc.serving--
	pc.lastUse = time.Now()
	c.mu.Unlock()
}

// memoKey is an address as a map key without pointers, and memoTime a time as
// nanoseconds since connCache.epoch: a memo costs a third of what an AddrPort and a
// time.Time would, and the collector need not scan the map.
type (
	memoKey struct {
		ip   [16]byte
		port uint16
	}
	memoTime int64
)

func keyOf(a netip.AddrPort) memoKey { return memoKey{a.Addr().As16(), a.Port()} }

func (c *connCache) memoTime(t time.Time) memoTime { return memoTime(t.Sub(c.epoch)) }

// lingerForLocked returns the linger of a new connection to or from addr (see
// Options.Linger), and forgets the address's memo. A peer called again within
// 2·MaxLinger of its connection's last use gets twice that gap, within [Linger,
// MaxLinger]; an accepted connection gets Linger more.
func (c *connCache) lingerForLocked(addr netip.AddrPort, incoming bool, now time.Time, o *Options) time.Duration {
	d, hi := o.Linger, max(o.Linger, o.MaxLinger)
	if last, ok := c.lingers[keyOf(addr)]; ok {
		delete(c.lingers, keyOf(addr))
		if gap := time.Duration(c.memoTime(now) - last); gap < 2*hi {
			d = min(max(d, 2*gap), hi)
		}
	}
	if incoming {
		d += o.Linger
	}
	return min(d, o.IdleTimeout)
}

// endedLocked remembers the use of a connection that ended, for lingerForLocked, if
// there is room once the memos too old to matter are forgotten.
func (c *connCache) endedLocked(pc *peerConn, now time.Time, o *Options) {
	if len(c.lingers) >= o.MaxConns {
		c.forgetLocked(now, o)
	}
	if len(c.lingers) < o.MaxConns {
		c.lingers[keyOf(pc.addr)] = c.memoTime(pc.lastUse)
		c.lingersPeak = max(c.lingersPeak, len(c.lingers))
	}
}

// forgetLocked forgets the memos older than 2·MaxLinger, which lingerForLocked would
// not use, and makes the map anew once it holds a quarter of its peak or less: a Go map
// keeps the room of the most it ever held, and a node that once talked to many peers
// would keep it while idle.
func (c *connCache) forgetLocked(now time.Time, o *Options) {
	old := c.memoTime(now.Add(-2 * max(o.Linger, o.MaxLinger)))
	for k, last := range c.lingers {
		if last <= old {
			delete(c.lingers, k)
		}
	}
	if len(c.lingers) <= c.lingersPeak/4 {
		// A copy by hand: maps.Clone keeps the room of the original.
		fresh := make(map[memoKey]memoTime, len(c.lingers))
		for k, last := range c.lingers {
			fresh[k] = last
		}
		c.lingers, c.lingersPeak = fresh, len(fresh)
	}
}

// idleLocked removes from the cache, and returns, the connections with nothing in
// flight that have stayed unused for their linger.
func (c *connCache) idleLocked(now time.Time) []*peerConn {
	var idle []*peerConn
	for e := c.lru.Back(); e != nil; {
		pc := e.Value.(*peerConn)
		e = e.Prev()
		if pc.active > 0 || pc.serving > 0 || now.Sub(pc.lastUse) < pc.linger {
			continue
		}
		c.dropLocked(pc)
		idle = append(idle, pc)
	}
	return idle
}

// lingerLoop closes, every quarter of Options.Linger, the connections that have been
// unused for longer than their linger, until the transport closes.
func (t *Transport) lingerLoop() {
	tick := time.NewTicker(max(t.opts.Linger/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case now := <-tick.C:
			t.cache.mu.Lock()
			idle := t.cache.idleLocked(now)
			if len(t.cache.lingers) > 0 {
				t.cache.forgetLocked(now, &t.opts)
			}
			t.cache.mu.Unlock()
			for _, pc := range idle {
				t.lingerClosed.Add(1)
				pc.conn.CloseWithError(closeIdle, "idle")
			}
		}
	}
}

// Eviction ranks, lowest evicted first.
const (
	rankStranger = iota // incoming, from a peer not kept
	rankDialed          // dialed by this node, to a peer not kept
	rankKept            // to a peer Options.Keep keeps
)

// rankLocked returns pc's eviction rank. Keep is asked about the ID the peer's key
// proves, so that a peer cannot claim a kept ID it does not hold.
func (c *connCache) rankLocked(pc *peerConn) int {
	switch {
	case c.keep != nil && c.keep(pc.id.derived):
		return rankKept
	case pc.incoming:
		return rankStranger
	default:
		return rankDialed
	}
}

// victimLocked picks the connection to close to make room for newcomer: the lowest
// ranked, then one with no call in flight, then the least recently used. A kept peer's
// connection makes room only for a kept peer's or for a dial, never for a stranger's;
// victimLocked returns nil when nothing may make room.
func (c *connCache) victimLocked(newcomer *peerConn) *peerConn {
	highest := rankKept
	if c.rankLocked(newcomer) == rankStranger {
		highest = rankDialed
	}
	var best *peerConn
	bestRank, bestBusy := 0, false
	for e := c.lru.Back(); e != nil; e = e.Prev() {
		pc := e.Value.(*peerConn)
		if pc == newcomer {
			continue
		}
		r, busy := c.rankLocked(pc), pc.active > 0
		if r > highest {
			continue
		}
		if best == nil || r < bestRank || (r == bestRank && bestBusy && !busy) {
			best, bestRank, bestBusy = pc, r, busy
		}
		if r == rankStranger && !busy {
			break // none can be better, and the older ones were seen first
		}
	}
	return best
}

// conn returns the connection for calls to addr, dialing it if needed; concurrent
// callers share one handshake. fresh reports that the connection was dialed for this
// call. The caller must release the connection.
func (t *Transport) conn(ctx context.Context, addr netip.AddrPort) (pc *peerConn, fresh bool, err error) {
	c := &t.cache
	c.mu.Lock()
	if t.closed.Load() {
		c.mu.Unlock()
		return nil, false, transports.ErrClosed
	}
	if pc := c.byAddr[addr]; pc != nil {
		if pc.conn.Context().Err() == nil {
			c.lru.MoveToFront(pc.elem)
			pc.active++
			pc.lastUse = time.Now()
			c.mu.Unlock()
			return pc, false, nil
		}
		c.dropLocked(pc)
	}
	d := c.dials[addr]
	if d == nil {
		d = &pendingDial{done: make(chan struct{})}
		c.dials[addr] = d
		t.goFunc(func() { t.dial(addr, d) })
	}
	c.mu.Unlock()

	select {
	case <-d.done:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	if d.err != nil {
		return nil, false, d.err
	}
	c.mu.Lock()
	d.pc.active++
	d.pc.lastUse = time.Now()
	c.mu.Unlock()
	return d.pc, true, nil
}

// dial makes a connection to addr for the callers waiting on d. It runs on its own
// context so that one caller giving up does not fail the others.
func (t *Transport) dial(addr netip.AddrPort, d *pendingDial) {
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.HandshakeTimeout)
	defer cancel()
	conn, err := t.qt.Dial(ctx, net.UDPAddrFromAddrPort(addr), t.clientTLSFor(addr), t.qconf)
	var pc *peerConn
	if err == nil {
		t.dials.Add(1)
		pc, err = t.register(conn, addr, false)
	} else {
		err = t.dialErr(ctx, err)
		t.log.Debug("dial failed", "addr", addr, "err", err)
	}
	c := &t.cache
	c.mu.Lock()
	delete(c.dials, addr)
	c.dials = emptied(c.dials)
	d.pc, d.err = pc, err
	close(d.done)
	c.mu.Unlock()
}

func (t *Transport) dialErr(ctx context.Context, err error) error {
	if t.closed.Load() {
		return transports.ErrClosed
	}
	var hto *qgo.HandshakeTimeoutError
	var ito *qgo.IdleTimeoutError
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(err, &hto) || errors.As(err, &ito) {
		return fmt.Errorf("%w: no handshake within %v", transports.ErrUnreachable, t.opts.HandshakeTimeout)
	}
	if wrongNetwork(err) {
		return wrongNetworkErr(t.alpn)
	}
	return fmt.Errorf("dial: %w", err)
}

// register adds a connection whose handshake completed to the cache, making room
// within the cap (victimLocked), and starts serving its streams. The newest connection
// to an address is the one calls use. An incoming connection from a peer not kept, for
// which nothing may make room, is closed and refused.
func (t *Transport) register(conn *qgo.Conn, addr netip.AddrPort, incoming bool) (*peerConn, error) {
	id, err := peerIdentity(conn.ConnectionState().TLS)
	if err != nil {
		conn.CloseWithError(closeNormal, "bad certificate")
		return nil, err
	}
	pc := &peerConn{
		conn:     conn,
		addr:     addr,
		id:       id,
		peer:     transports.Peer{Addr: addr, ID: id.claimed, Verified: id.verified()},
		incoming: incoming,
	}
	if st := conn.ConnectionState(); st.SupportsDatagrams.Local && st.SupportsDatagrams.Remote {
		pc.dg = newDgConn()
	}
	if conn.ConnectionState().TLS.DidResume {
		t.resumed.Add(1)
	}
	c := &t.cache
	c.mu.Lock()
	if t.closed.Load() {
		c.mu.Unlock()
		conn.CloseWithError(closeNormal, "closing")
		return nil, transports.ErrClosed
	}
	var victim *peerConn
	if c.lru.Len() >= t.opts.MaxConns {
		if victim = c.victimLocked(pc); victim == nil {
			c.mu.Unlock()
			t.refusedFull.Add(1)
			conn.CloseWithError(closeEvicted, "full")
			return nil, errFull
		}
		c.dropLocked(victim)
	}
	pc.lastUse = time.Now()
	pc.linger = c.lingerForLocked(addr, incoming, pc.lastUse, &t.opts)
	pc.elem = c.lru.PushFront(pc)
	c.byAddr[addr] = pc
	t.goFunc(func() { t.serveConn(pc) })
	if pc.dg != nil {
		t.goFunc(func() { t.serveDatagrams(pc) })
	}
	c.mu.Unlock()
	if victim != nil {
		t.log.Debug("evicting connection", "addr", victim.addr, "incoming", victim.incoming)
		victim.conn.CloseWithError(closeEvicted, "evicted")
	}
	return pc, nil
}

// errFull refuses an incoming connection from a peer not kept when every connection
// that could make room for it is a kept peer's.
var errFull = errors.New("every connection is to a kept peer")

// shutdownConns marks the transport closed and empties the cache, returning the
// connections to close.
func (t *Transport) shutdownConns() []*peerConn {
	c := &t.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	t.closed.Store(true)
	conns := make([]*peerConn, 0, c.lru.Len())
	for e := c.lru.Front(); e != nil; e = e.Next() {
		pc := e.Value.(*peerConn)
		pc.elem = nil
		conns = append(conns, pc)
	}
	c.lru.Init()
	clear(c.byAddr)
	return conns
}

// acceptLoop registers incoming connections; calls to their address use them too.
func (t *Transport) acceptLoop() {
	for {
		conn, err := t.ln.Accept(t.ctx)
		if err != nil {
			return
		}
		t.accepts.Add(1)
		t.limits.handshakeDone(conn)
		addr, err := addrPortOf(conn.RemoteAddr())
		if err != nil {
			conn.CloseWithError(closeNormal, "bad address")
			continue
		}
		if _, err := t.register(conn, addr, true); err != nil {
			t.log.Debug("incoming connection refused", "addr", addr, "err", err)
		}
	}
}

// serveConn hands each stream the peer opens to serveStream, and drops the connection
// from the cache once it has closed.
func (t *Transport) serveConn(pc *peerConn) {
	defer func() {
		c := &t.cache
		c.mu.Lock()
		c.dropLocked(pc)
		c.endedLocked(pc, time.Now(), &t.opts)
		forget := !pc.incoming && c.rankLocked(pc) != rankKept
		c.mu.Unlock()
		if forget {
			t.forgetSession(pc.addr)
		}
	}()
	for {
		s, err := pc.conn.AcceptStream(t.ctx)
		if err != nil {
			return
		}
		t.goFunc(func() { t.serveStream(pc, s) })
	}
}
