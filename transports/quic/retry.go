package quic

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Address validation. quic-go asks Transport.VerifySourceAddress about each new
// incoming connection whose Initial carries no valid token; true makes it answer with a
// Retry, which costs it no handshake state, and the client comes back with the token,
// proving that it receives at its source address. A Retry costs an honest client one
// round trip, so it is asked for only while new handshakes arrive faster than
// Options.RetryAbove per second, or when the source is at one of its limits (limits.go).

// retrySlots divide the last second into this many parts.
const retrySlots = 10

// handshakeRate counts the new handshakes of the last second. Its fields are guarded
// by mu.
type handshakeRate struct {
	above int // Options.RetryAbove; negative: never ask
	now   func() time.Time

	mu     sync.Mutex
	slots  [retrySlots]int
	latest int64 // the index, in slots since the epoch, of the newest slot counted

	retries atomic.Int64 // handshakes asked for a Retry
}

// add counts a new handshake and reports whether the rate of the last second is over
// the limit.
func (r *handshakeRate) add() bool {
	if r.above < 0 {
		return false
	}
	slot := r.now().UnixNano() / int64(time.Second/retrySlots)
	r.mu.Lock()
	defer r.mu.Unlock()
	if gap := slot - r.latest; gap > 0 {
		for i := int64(1); i <= min(gap, retrySlots); i++ {
			r.slots[(r.latest+i)%retrySlots] = 0
		}
		r.latest = slot
	}
	r.slots[slot%retrySlots]++
	n := 0
	for _, c := range r.slots {
		n += c
	}
	return n > r.above
}

// verifySourceAddress returns the quic.Transport's VerifySourceAddress: a Retry while
// handshakes come fast, or for a source at one of its limits.
func verifySourceAddress(rate *handshakeRate, limits *sourceLimits) func(net.Addr) bool {
	return func(addr net.Addr) bool {
		fast := rate.add()
		if fast || limits.full(addr) {
			rate.retries.Add(1)
			return true
		}
		return false
	}
}
