package node

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/netip"
	"sync"
	"time"

	"kad/protocol"
)

// Address validation (PROTOCOL.md, "Address validation"). Over UDP a request's source
// address may be forged, so a reply may land on a victim that never asked. Until an
// address is validated the node sends it at most amplificationLimit times the bytes of
// the request (RFC 9000 §8's rule), and a STORE needs a proof of the address: a token
// the node issued to that address, echoed back. Issuing and checking a token keeps no
// state per requester: a token is a MAC of the address under a secret that rotates.

const (
	// tokenSize is the length of the tokens this node issues: 64 bits of MAC, which a
	// forger would have to guess online, one datagram per guess.
	tokenSize = 8
	// tokenRotation is how often the secret changes. A token is accepted under the
	// secret it was made with and the one before, so it lives between one and two
	// rotations: 5 to 10 minutes.
	tokenRotation = 5 * time.Minute
	// amplificationLimit bounds the bytes sent to an address not yet validated, as a
	// multiple of the bytes received from it.
	amplificationLimit = 3
	// tokenCacheLen bounds the tokens this node keeps of the nodes it calls. When it is
	// full an arbitrary one goes; a call without a token costs padding or a round trip,
	// never a failure.
	tokenCacheLen = 512
)

// tokenIssuer makes and checks the tokens this node issues.
type tokenIssuer struct {
	mu      sync.Mutex
	cur     [32]byte // the current secret
	prev    [32]byte // the one before
	rotated time.Time
}

func newTokenIssuer(now time.Time) *tokenIssuer {
	t := &tokenIssuer{rotated: now}
	rand.Read(t.cur[:])
	rand.Read(t.prev[:])
	return t
}

// secrets returns the current and the previous secret, rotating them first if due.
func (t *tokenIssuer) secrets(now time.Time) (cur, prev [32]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if age := now.Sub(t.rotated); age >= tokenRotation {
		t.prev = t.cur
		if age >= 2*tokenRotation {
			// Idle for more than a rotation: the old current secret is past its life too.
			rand.Read(t.prev[:])
		}
		rand.Read(t.cur[:])
		t.rotated = now
	}
	return t.cur, t.prev
}

// tokenMAC is the token for addr under secret: the first tokenSize bytes of
// SHA-256(secret || IP as 16 bytes || port big-endian). The input has a fixed length, so
// the secret prefix makes a sound MAC, and it costs no allocation.
func tokenMAC(secret *[32]byte, addr netip.AddrPort) [tokenSize]byte {
	var in [32 + 16 + 2]byte
	copy(in[:], secret[:])
	ip := addr.Addr().Unmap().As16()
	copy(in[32:], ip[:])
	in[48], in[49] = byte(addr.Port()>>8), byte(addr.Port())
	sum := sha256.Sum256(in[:])
	return [tokenSize]byte(sum[:tokenSize])
}

// issue returns a token for addr.
func (t *tokenIssuer) issue(addr netip.AddrPort, now time.Time) []byte {
	cur, _ := t.secrets(now)
	tok := tokenMAC(&cur, addr)
	return tok[:]
}

// check reports whether tok is a token this node issued to addr and still accepts, and
// whether it is of the current secret (else the requester should be given a new one).
func (t *tokenIssuer) check(tok []byte, addr netip.AddrPort, now time.Time) (valid, current bool) {
	if len(tok) != tokenSize {
		return false, false
	}
	cur, prev := t.secrets(now)
	if m := tokenMAC(&cur, addr); subtle.ConstantTimeCompare(tok, m[:]) == 1 {
		return true, true
	}
	m := tokenMAC(&prev, addr)
	return subtle.ConstantTimeCompare(tok, m[:]) == 1, false
}

// tokenCache holds the tokens other nodes issued to this one, by the address they were
// called at. Its keys and values hold no pointers (an address as 16 bytes and a port,
// a token inline), so a full cache is one allocation the garbage collector need not
// scan: about 45 bytes a token, against some 90 for a map of netip.AddrPort to []byte.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	toks  map[sourceKey]cachedToken
	peak  int       // the most tokens held since the map was last made anew (sweep)
	epoch time.Time // of cachedToken.at
}

// tokenKey is an address as a map key without pointers: the sender key of its IP and
// port, whatever the rule of senders.
func tokenKey(a netip.AddrPort) sourceKey {
	return sourceKey{ip: a.Addr().Unmap().As16(), port: a.Port()}
}

// cachedToken is a token of up to protocol.MaxTokenSize bytes, inline, and when it came
// (seconds since the cache's epoch).
type cachedToken struct {
	n  uint8
	b  [protocol.MaxTokenSize]byte
	at uint32
}

func newTokenCache(max int) *tokenCache { return &tokenCache{max: max, epoch: time.Now()} }

// tokenLife is how long a token stays good at its issuer: it rotates its secret every
// tokenRotation and accepts the current and the previous one.
const tokenLife = 2 * tokenRotation

// get returns the token the node at addr issued, or nil.
func (c *tokenCache) get(addr netip.AddrPort) []byte {
	c.mu.Lock()
	t, ok := c.toks[tokenKey(addr)]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return t.b[:t.n:t.n]
}

// put keeps tok, a token the node at addr issued, replacing any before it.
func (c *tokenCache) put(addr netip.AddrPort, tok []byte) {
	if len(tok) == 0 || len(tok) > protocol.MaxTokenSize {
		return
	}
	var t cachedToken
	t.n = uint8(copy(t.b[:], tok))
	t.at = uint32(time.Since(c.epoch) / time.Second)
	key := tokenKey(addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.toks == nil {
		c.toks = make(map[sourceKey]cachedToken)
	}
	if _, ok := c.toks[key]; !ok && len(c.toks) >= c.max {
		for a := range c.toks {
			delete(c.toks, a) // map iteration picks an arbitrary one
			break
		}
	}
	c.toks[key] = t
	c.peak = max(c.peak, len(c.toks))
}

// sweep drops the tokens that their issuers no longer accept at now, and makes the map
// anew once it holds a quarter of its peak or less (as sourceLimiter.sweep does).
func (c *tokenCache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if life := now.Sub(c.epoch) - tokenLife; life > 0 {
		old := uint32(life / time.Second)
		for k, t := range c.toks {
			if t.at < old {
				delete(c.toks, k)
			}
		}
	}
	c.toks, c.peak = shrinkMap(c.toks, c.peak)
}

// padFor returns the padding that makes a request of reqLen encoded bytes worth an
// answer of k contacts from a node that has not validated this one's address: a third
// of the largest NODES reply of k contacts of the family of addr (the node's own), less
// the request itself and the padding field's head. Requests for a value pay the same:
// a value that does not fit in three times the request needs the token round trip.
func padFor(reqLen, k int, addr netip.AddrPort) int {
	contact := 2 + protocol.IDBytes + 18
	if addr.Addr().Unmap().Is4() {
		contact = 2 + protocol.IDBytes + 6
	}
	// The envelope of a NODES reply: type, rpc id, sender, an IPv6 sender address, a
	// token, the array's head.
	const envelope = 1 + 2 + 10 + 2 + 21 + 2 + 19 + 2 + 10 + 3
	want := (envelope + k*contact + amplificationLimit - 1) / amplificationLimit
	pad := want - reqLen - 3 // the key and the byte string's head of up to 3 bytes
	return max(pad, 0)
}
