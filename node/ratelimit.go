package node

import (
	"net/netip"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"kad/routing"
)

// rateLimiterSources bounds how many senders the rate limiter remembers; the least
// recently heard ones are forgotten first (and start again with a full burst).
const rateLimiterSources = 4096

// sourceLimiter holds one token bucket per sender, so that no sender can take more than
// its share of the node's handling (DESIGN.md: limits where requests enter the node).
type sourceLimiter struct {
	limit rate.Limit
	burst int
	cache *lru.Cache[netip.AddrPort, *rate.Limiter]
}

func newSourceLimiter(perSecond float64, burst int) *sourceLimiter {
	if perSecond <= 0 {
		return nil
	}
	cache, err := lru.New[netip.AddrPort, *rate.Limiter](rateLimiterSources)
	if err != nil {
		panic(err) // only for a non-positive size
	}
	return &sourceLimiter{limit: rate.Limit(perSecond), burst: burst, cache: cache}
}

// allow reports whether a request from addr may be handled now. A nil limiter allows all.
//
// A public address is limited by its IP, whatever its port, so that one host cannot
// multiply its share by opening sockets. Addresses exempt from subnet limits
// (routing.Exempt: loopback, private, link-local) are limited by IP and port: there many
// nodes share one IP (a test cluster, a LAN).
func (l *sourceLimiter) allow(addr netip.AddrPort, now time.Time) bool {
	if l == nil {
		return true
	}
	key := addr
	if ip := addr.Addr().Unmap(); !routing.Exempt(ip) {
		key = netip.AddrPortFrom(ip, 0)
	}
	lim, ok := l.cache.Get(key)
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		// Two requests from a new sender at once may each add a limiter; the loser's
		// token is lost, which errs on the side of letting the sender through.
		l.cache.Add(key, lim)
	}
	return lim.AllowN(now, 1)
}
