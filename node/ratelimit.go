package node

import (
	"net/netip"
	"sync"
	"time"

	"kad/routing"
)

// rateLimiterSources bounds how many senders the rate limiter remembers at once.
const rateLimiterSources = 4096

// sourceLimiter holds one token bucket per sender, so that no sender can take more than
// its share of the node's handling (DESIGN.md: limits where requests enter the node).
//
// A bucket is 16 bytes in a map whose keys and values hold no pointers, so a node that
// hears from thousands of senders costs the garbage collector nothing to scan. A sender
// whose bucket has refilled is indistinguishable from one never heard, so such buckets
// are dropped: by sweep, which the node calls periodically, by allow itself once a
// refill time has passed since the last sweep (a bucket refills within burst/rate, 2 s
// by default, so the map holds the senders of the last few seconds, not of the minute
// between the node's sweeps), and whenever the map is full.
// A full map of senders that are all still draining loses an arbitrary eighth of them,
// who start again with a full burst, as a least-recently-used cache would have them do.
// The arithmetic is golang.org/x/time/rate's Limiter.AllowN, which the tests keep as the
// reference.
type sourceLimiter struct {
	perSecond float64 // tokens added per second
	burst     float64
	rule      senderRule
	epoch     time.Time // buckets' times are nanoseconds since epoch (monotonic)

	mu      sync.Mutex
	buckets map[sourceKey]tokenBucket
	peak    int   // the most buckets held since the map was last made anew (sweep)
	swept   int64 // when the last sweep was, as tokenBucket.at
}

// sourceKey is a sender: an IP and a port, the port 0 for public addresses.
type sourceKey struct {
	ip   [16]byte
	port uint16
}

// senderRule maps addresses to senders, for the rate limit and the store quotas alike.
type senderRule routing.AddrRule

// sender returns the sender an address counts as. A public address counts by its IP,
// whatever its port, so that one host cannot multiply its share by opening sockets.
// Addresses exempt from subnet limits (routing.AddrRule.Exempt: loopback, private,
// link-local, unless the limits apply everywhere) count by IP and port: there many nodes
// share one IP (a test cluster, a LAN).
func (r senderRule) sender(addr netip.AddrPort) sourceKey {
	ip := addr.Addr().Unmap()
	key := sourceKey{ip: ip.As16()}
	if routing.AddrRule(r).Exempt(ip) {
		key.port = addr.Port()
	}
	return key
}

// tokenBucket is a sender's tokens at a time (nanoseconds since the limiter's epoch).
type tokenBucket struct {
	tokens float64
	at     int64
}

func newSourceLimiter(perSecond float64, burst int, rule senderRule) *sourceLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &sourceLimiter{perSecond: perSecond, burst: float64(burst), rule: rule, epoch: time.Now(),
		buckets: make(map[sourceKey]tokenBucket)}
}

// allow reports whether a request from addr, as a sender (senderRule), may be handled
// now. A nil limiter allows all.
func (l *sourceLimiter) allow(addr netip.AddrPort, now time.Time) bool {
	if l == nil {
		return true
	}
	key := l.rule.sender(addr)
	at := int64(now.Sub(l.epoch))
	l.mu.Lock()
	defer l.mu.Unlock()
	if at-l.swept > l.refillNanos() {
		l.sweepLocked(at)
	}
	b, ok := l.buckets[key]
	if ok {
		b.tokens = l.refill(b, at)
	} else {
		if len(l.buckets) >= rateLimiterSources {
			l.makeRoom(at)
		}
		b.tokens = l.burst
	}
	b.at = max(b.at, at)
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	l.buckets[key] = b
	l.peak = max(l.peak, len(l.buckets))
	return allowed
}

// refill returns b's tokens at time at, at most a burst. l.mu is held.
func (l *sourceLimiter) refill(b tokenBucket, at int64) float64 {
	if at <= b.at {
		return b.tokens
	}
	return min(l.burst, b.tokens+float64(at-b.at)/1e9*l.perSecond)
}

// sweep drops the buckets that are full again at now, and so mean nothing, and makes
// the map anew once it holds a quarter of its peak or less: a Go map keeps the room of
// the most it ever held, and a node that once heard from thousands of senders would
// keep that room while idle.
func (l *sourceLimiter) sweep(now time.Time) {
	if l == nil {
		return
	}
	at := int64(now.Sub(l.epoch))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(at)
}

// shrinkMap returns m, or, once it holds a quarter of peak or less, a copy of it sized
// to what it holds; and the peak to track from then on. A Go map keeps the buckets of the
// most it ever held, and maps.Clone keeps them too: a map that once held thousands of
// entries and now holds a few would keep that memory for good.
func shrinkMap[K comparable, V any](m map[K]V, peak int) (map[K]V, int) {
	if len(m) > peak/4 {
		return m, max(peak, len(m))
	}
	fresh := make(map[K]V, len(m))
	for k, v := range m {
		fresh[k] = v
	}
	return fresh, len(fresh)
}

// refillNanos is how long an empty bucket takes to fill.
func (l *sourceLimiter) refillNanos() int64 { return int64(l.burst / l.perSecond * 1e9) }

// sweepLocked drops the full buckets and returns how many, and makes the map anew once
// it holds a quarter of its peak or less. l.mu is held.
func (l *sourceLimiter) sweepLocked(at int64) int {
	l.swept = at
	dropped := 0
	for k, b := range l.buckets {
		if l.refill(b, at) >= l.burst {
			delete(l.buckets, k)
			dropped++
		}
	}
	l.buckets, l.peak = shrinkMap(l.buckets, l.peak)
	return dropped
}

// makeRoom frees room for a new sender in a full map: the full buckets go, and if that
// frees less than an eighth of the map, arbitrary buckets go until an eighth is free, so
// that a flood of senders pays for a sweep once per eighth of the map, not once per
// request. l.mu is held.
func (l *sourceLimiter) makeRoom(at int64) {
	need := rateLimiterSources / 8
	need -= l.sweepLocked(at)
	for k := range l.buckets {
		if need <= 0 {
			break
		}
		delete(l.buckets, k)
		need--
	}
}

// senders returns how many senders the limiter remembers.
func (l *sourceLimiter) senders() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
