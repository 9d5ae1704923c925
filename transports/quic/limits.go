package quic

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"

	qgo "github.com/quic-go/quic-go"

	"kad/routing"
)

// Per-source limits. quic-go asks Transport.ConnContext about every new incoming
// connection when its first Initial packet arrives (after any Retry), before it builds
// any state for it: an error there makes it answer CONNECTION_REFUSED and forget the
// attempt. That is the cheapest point at which a connection can be refused rather than
// dropped, and the context returned there ends when the connection does, which tells
// when to give its slot back.

// errSourceLimit refuses a connection over a per-source limit; the client sees
// CONNECTION_REFUSED.
var errSourceLimit = errors.New("too many connections from this source")

// sourceKey is what a limit counts against: an address (IP, or IP and port for an
// exempt one) or a subnet.
type sourceKey struct {
	prefix netip.Prefix   // a subnet; zero for an address
	addr   netip.AddrPort // port zero unless the address is exempt
}

// sourceCount is what one source holds now.
type sourceCount struct{ conns, handshakes int }

// sourceSlot is one incoming connection's share of its sources' limits, carried in the
// connection's context.
type sourceSlot struct {
	host, subnet sourceKey // subnet is zero when the source counts against none
	handshaking  bool      // guarded by sourceLimits.mu
}

type slotKey struct{}

// sourceLimits counts incoming connections and handshakes per source. Its counters
// are guarded by mu.
type sourceLimits struct {
	opts   Options
	mu     sync.Mutex
	counts map[sourceKey]sourceCount

	refusedConnsIP, refusedConnsSubnet           atomic.Int64
	refusedHandshakesIP, refusedHandshakesSubnet atomic.Int64
}

func newSourceLimits(opts Options) *sourceLimits {
	return &sourceLimits{opts: opts, counts: make(map[sourceKey]sourceCount)}
}

// keys returns the sources addr counts against. An exempt address (routing.Exempt)
// counts per IP and port, as the node's rate limit counts it, unless
// Options.LimitExemptSubnets treats it as public.
func (l *sourceLimits) keys(addr netip.AddrPort) (host, subnet sourceKey) {
	ip := addr.Addr().Unmap()
	if routing.Exempt(ip) && !l.opts.LimitExemptSubnets {
		return sourceKey{addr: netip.AddrPortFrom(ip, addr.Port())}, sourceKey{}
	}
	host = sourceKey{addr: netip.AddrPortFrom(ip, 0)}
	p, ok := routing.Subnet(addr)
	if !ok && ip.IsValid() {
		// An exempt address under LimitExemptSubnets: the subnet sizes of
		// routing.Subnet, which has none for it.
		bits := 64
		if ip.Is4() {
			bits = 24
		}
		p, ok = netip.PrefixFrom(ip, bits).Masked(), true
	}
	if ok {
		subnet = sourceKey{prefix: p}
	}
	return host, subnet
}

// over reports whether n is at a limit; a negative limit is none.
func over(n, limit int) bool { return limit >= 0 && n >= limit }

// connContext is the quic.Transport's ConnContext: it takes a slot for the connection
// or refuses it.
func (l *sourceLimits) connContext(ctx context.Context, info *qgo.ClientInfo) (context.Context, error) {
	addr, err := addrPortOf(info.RemoteAddr)
	if err != nil {
		return nil, err
	}
	host, subnet := l.keys(addr)
	l.mu.Lock()
	h, s := l.counts[host], l.counts[subnet]
	var refused *atomic.Int64
	switch {
	case over(h.conns, l.opts.MaxConnsPerIP):
		refused = &l.refusedConnsIP
	case subnet != (sourceKey{}) && over(s.conns, l.opts.MaxConnsPerSubnet):
		refused = &l.refusedConnsSubnet
	case over(h.handshakes, l.opts.MaxHandshakesPerIP):
		refused = &l.refusedHandshakesIP
	case subnet != (sourceKey{}) && over(s.handshakes, l.opts.MaxHandshakesPerSubnet):
		refused = &l.refusedHandshakesSubnet
	}
	if refused != nil {
		l.mu.Unlock()
		refused.Add(1)
		l.opts.Logger.Debug("incoming connection refused", "addr", addr, "err", errSourceLimit)
		return nil, errSourceLimit
	}
	slot := &sourceSlot{host: host, subnet: subnet, handshaking: true}
	l.addLocked(slot, 1, 1)
	l.mu.Unlock()
	context.AfterFunc(ctx, func() { l.release(slot) })
	return context.WithValue(ctx, slotKey{}, slot), nil
}

// addLocked adds conns and handshakes to slot's sources, dropping sources that hold
// nothing. l.mu is held.
func (l *sourceLimits) addLocked(slot *sourceSlot, conns, handshakes int) {
	for _, k := range []sourceKey{slot.host, slot.subnet} {
		if k == (sourceKey{}) {
			continue
		}
		c := l.counts[k]
		c.conns += conns
		c.handshakes += handshakes
		if c == (sourceCount{}) {
			delete(l.counts, k)
		} else {
			l.counts[k] = c
		}
	}
}

// handshakeDone gives back the handshake slot of conn, accepted.
func (l *sourceLimits) handshakeDone(conn *qgo.Conn) {
	slot, ok := conn.Context().Value(slotKey{}).(*sourceSlot)
	if !ok {
		return
	}
	l.mu.Lock()
	if slot.handshaking {
		slot.handshaking = false
		l.addLocked(slot, 0, -1)
	}
	l.mu.Unlock()
}

// release gives back everything slot holds: its connection has ended.
func (l *sourceLimits) release(slot *sourceSlot) {
	l.mu.Lock()
	hs := 0
	if slot.handshaking {
		slot.handshaking = false
		hs = -1
	}
	l.addLocked(slot, -1, hs)
	l.mu.Unlock()
}

// sources returns how many sources hold a slot now, for tests.
func (l *sourceLimits) sources() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.counts)
}
