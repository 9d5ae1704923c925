package quic

import (
	"context"
	"errors"
	"net"
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
//
// An attempt's source address is unproven until a Retry token or the completed
// handshake proves it, so a forged one could fill a real peer's handshake slots. Hence
// an unproven attempt from a source at a limit is asked for a Retry (full, through
// Transport.VerifySourceAddress) rather than refused, and unproven handshakes count
// apart from proven ones: they count against the connection limits but not against a
// proven attempt's handshake limit. Forged attempts can then hold at most
// MaxHandshakesPerIP of an address's MaxConnsPerIP places, for a handshake timeout.

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
type sourceCount struct {
	conns      int // connections whose address is proven, handshaking or open
	handshakes int // of those, the ones handshaking
	unproven   int // handshakes whose address is not proven yet
}

// sourceSlot is one incoming connection's share of its sources' limits, carried in the
// connection's context.
type sourceSlot struct {
	host, subnet sourceKey // subnet is zero when the source counts against none
	// Guarded by sourceLimits.mu.
	handshaking bool
	proven      bool // the address was proven when the attempt came, by a token
}

type slotKey struct{}

// sourceLimits counts incoming connections and handshakes per source. Its counters
// are guarded by mu.
type sourceLimits struct {
	opts   Options
	rule   routing.AddrRule // which sources count per IP and subnet
	mu     sync.Mutex
	counts map[sourceKey]sourceCount

	refusedConnsIP, refusedConnsSubnet           atomic.Int64
	refusedHandshakesIP, refusedHandshakesSubnet atomic.Int64
}

func newSourceLimits(opts Options) *sourceLimits {
	return &sourceLimits{opts: opts, rule: routing.AddrRule{Everywhere: opts.SubnetLimitsEverywhere},
		counts: make(map[sourceKey]sourceCount)}
}

// keys returns the sources addr counts against. An address that the rule exempts from
// subnet limits counts per IP and port, as the node's rate limit counts it.
func (l *sourceLimits) keys(addr netip.AddrPort) (host, subnet sourceKey) {
	ip := addr.Addr().Unmap()
	if l.rule.Exempt(ip) {
		return sourceKey{addr: netip.AddrPortFrom(ip, addr.Port())}, sourceKey{}
	}
	host = sourceKey{addr: netip.AddrPortFrom(ip, 0)}
	if p, ok := l.rule.Subnet(addr); ok {
		subnet = sourceKey{prefix: p}
	}
	return host, subnet
}

// over reports whether n is at a limit; a negative limit is none.
func over(n, limit int) bool { return limit >= 0 && n >= limit }

// refusalLocked returns the counter of the limit that an attempt from host and subnet
// is over, nil if none. proven says whether the attempt's address is proven; an
// unproven one counts the unproven handshakes against the handshake limits too.
// l.mu is held.
func (l *sourceLimits) refusalLocked(host, subnet sourceKey, proven bool) *atomic.Int64 {
	h, s := l.counts[host], l.counts[subnet]
	hasSubnet := subnet != (sourceKey{})
	hh, sh := h.handshakes, s.handshakes
	if !proven {
		hh, sh = hh+h.unproven, sh+s.unproven
	}
	switch {
	case over(h.conns+h.unproven, l.opts.MaxConnsPerIP):
		return &l.refusedConnsIP
	case hasSubnet && over(s.conns+s.unproven, l.opts.MaxConnsPerSubnet):
		return &l.refusedConnsSubnet
	case over(hh, l.opts.MaxHandshakesPerIP):
		return &l.refusedHandshakesIP
	case hasSubnet && over(sh, l.opts.MaxHandshakesPerSubnet):
		return &l.refusedHandshakesSubnet
	}
	return nil
}

// full reports whether an unproven attempt from addr would be over a limit: the
// transport then asks it for a Retry instead of refusing it.
func (l *sourceLimits) full(a net.Addr) bool {
	addr, err := addrPortOf(a)
	if err != nil {
		return false
	}
	host, subnet := l.keys(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusalLocked(host, subnet, false) != nil
}

// connContext is the quic.Transport's ConnContext: it takes a slot for the connection
// or refuses it.
func (l *sourceLimits) connContext(ctx context.Context, info *qgo.ClientInfo) (context.Context, error) {
	addr, err := addrPortOf(info.RemoteAddr)
	if err != nil {
		return nil, err
	}
	host, subnet := l.keys(addr)
	l.mu.Lock()
	if refused := l.refusalLocked(host, subnet, info.AddrVerified); refused != nil {
		l.mu.Unlock()
		refused.Add(1)
		l.opts.Logger.Debug("incoming connection refused", "addr", addr, "err", errSourceLimit)
		return nil, errSourceLimit
	}
	slot := &sourceSlot{host: host, subnet: subnet, handshaking: true, proven: info.AddrVerified}
	if slot.proven {
		l.addLocked(slot, sourceCount{conns: 1, handshakes: 1})
	} else {
		l.addLocked(slot, sourceCount{unproven: 1})
	}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() { l.release(slot) })
	return context.WithValue(ctx, slotKey{}, slot), nil
}

// addLocked adds d to slot's sources, dropping sources that hold nothing. l.mu is held.
func (l *sourceLimits) addLocked(slot *sourceSlot, d sourceCount) {
	for _, k := range []sourceKey{slot.host, slot.subnet} {
		if k == (sourceKey{}) {
			continue
		}
		c := l.counts[k]
		c.conns += d.conns
		c.handshakes += d.handshakes
		c.unproven += d.unproven
		if c == (sourceCount{}) {
			delete(l.counts, k)
			l.counts = emptied(l.counts)
		} else {
			l.counts[k] = c
		}
	}
}

// handshakeDone gives back the handshake slot of conn, accepted: its address is
// proven now, and it holds a connection slot.
func (l *sourceLimits) handshakeDone(conn *qgo.Conn) {
	slot, ok := conn.Context().Value(slotKey{}).(*sourceSlot)
	if !ok {
		return
	}
	l.mu.Lock()
	if slot.handshaking {
		slot.handshaking = false
		if slot.proven {
			l.addLocked(slot, sourceCount{handshakes: -1})
		} else {
			slot.proven = true
			l.addLocked(slot, sourceCount{conns: 1, unproven: -1})
		}
	}
	l.mu.Unlock()
}

// release gives back everything slot holds: its connection has ended.
func (l *sourceLimits) release(slot *sourceSlot) {
	l.mu.Lock()
	switch {
	case !slot.proven:
		l.addLocked(slot, sourceCount{unproven: -1})
	case slot.handshaking:
		l.addLocked(slot, sourceCount{conns: -1, handshakes: -1})
	default:
		l.addLocked(slot, sourceCount{conns: -1})
	}
	slot.handshaking = false // so that a late handshakeDone gives nothing back
	l.mu.Unlock()
}

// sources returns how many sources hold a slot now, for tests.
func (l *sourceLimits) sources() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.counts)
}
