package mem

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"kad/protocol"
)

// Options configures a Network. The zero value is a perfect network: no latency, no loss,
// no partitions.
type Options struct {
	// Latency is the fixed one-way delay of every message.
	Latency time.Duration
	// Jitter adds a uniformly random delay in [0, Jitter) to each message, so messages
	// may overtake one another.
	Jitter time.Duration
	// Loss is the probability, from 0 to 1, that a message (request or response) is
	// dropped.
	Loss float64
	// Seed seeds the randomness behind jitter and loss. The same seed and the same
	// sequence of messages give the same delays and the same losses.
	Seed uint64
	// MaxConcurrent bounds the requests one transport handles at once; a request that
	// arrives when that many are running is dropped, as a full socket buffer would drop
	// it. Zero means DefaultMaxConcurrent.
	MaxConcurrent int
	// Model, when set, decides every message's delay and loss in place of Latency,
	// Jitter and Loss, which must then be zero (package internet is a model of the
	// internet's round trips).
	Model Model
}

// Model decides how long a message takes from one host to another, and whether it is
// lost. Network calls it with its own lock held, one message at a time, so it need not
// be safe for concurrent use, and passes the network's seeded source of randomness, so
// that the same seed and the same sequence of messages give the same delays.
type Model interface {
	// Delay returns the one-way delay of a message from one host to another, or false
	// when the message is lost.
	Delay(from, to netip.Addr, rng *rand.Rand) (time.Duration, bool)
}

// DefaultMaxConcurrent is the default bound on requests one transport handles at once.
const DefaultMaxConcurrent = 64

func (o Options) withDefaults() Options {
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Latency < 0 || o.Jitter < 0:
		return fmt.Errorf("mem: negative latency %v or jitter %v", o.Latency, o.Jitter)
	case !(o.Loss >= 0 && o.Loss <= 1):
		return fmt.Errorf("mem: loss %v is not a probability", o.Loss)
	case o.MaxConcurrent < 0:
		return fmt.Errorf("mem: negative MaxConcurrent %d", o.MaxConcurrent)
	case o.Model != nil && (o.Latency != 0 || o.Jitter != 0 || o.Loss != 0):
		return fmt.Errorf("mem: Latency, Jitter and Loss are the Model's to decide")
	}
	return nil
}

// Stats counts what a Network did with the messages sent on it.
type Stats struct {
	// Sent counts requests and responses handed to the network.
	Sent uint64
	// Lost counts messages dropped by the loss probability.
	Lost uint64
	// Cut counts messages dropped by a partition or a disconnected link.
	Cut uint64
	// Filtered counts requests a NAT dropped: they came to a host behind one from an
	// address it had not sent to recently.
	Filtered uint64
}

// link is an unordered pair of addresses, a before b.
type link struct{ a, b netip.AddrPort }

func newLink(a, b netip.AddrPort) link {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return link{a, b}
}

// Network is an in-memory network that Transports attach to. It is safe for concurrent
// use. Its methods hold its mutex only briefly and never while a message is delivered.
type Network struct {
	maxConcurrent int

	mu        sync.Mutex // guards the fields below
	rng       *rand.Rand
	latency   time.Duration
	jitter    time.Duration
	loss      float64
	model     Model
	listeners map[netip.AddrPort]*Transport
	nat       map[netip.AddrPort]*natState // hosts behind a NAT
	cut       map[link]struct{}
	group     map[netip.AddrPort]int // partition group; absent means group 0
	nextHost  uint32                 // last host number NewTransport assigned
	nextPort  uint16                 // last port Listen assigned for port 0
	stats     Stats
}

// NewNetwork returns an empty network. It starts no goroutines and needs no closing.
func NewNetwork(opts Options) (*Network, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Network{
		maxConcurrent: opts.MaxConcurrent,
		rng:           rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		latency:       opts.Latency,
		jitter:        opts.Jitter,
		loss:          opts.Loss,
		model:         opts.Model,
		listeners:     make(map[netip.AddrPort]*Transport),
		nat:           make(map[netip.AddrPort]*natState),
		cut:           make(map[link]struct{}),
		group:         make(map[netip.AddrPort]int),
	}, nil
}

// Listen attaches a new transport at addr. A port of 0 picks a free port at addr's IP.
func (n *Network) Listen(addr netip.AddrPort) (*Transport, error) {
	if !addr.IsValid() || addr.Addr().IsUnspecified() || addr.Addr().IsMulticast() {
		return nil, fmt.Errorf("mem: listen %s: %w", addr, protocol.ErrBadAddr)
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr.Port() == 0 {
		free, ok := n.freePort(addr.Addr())
		if !ok {
			return nil, fmt.Errorf("mem: listen %s: %w", addr, ErrAddrInUse)
		}
		addr = free
	}
	if n.listeners[addr] != nil {
		return nil, fmt.Errorf("mem: listen %s: %w", addr, ErrAddrInUse)
	}
	t := newTransport(n, addr)
	n.listeners[addr] = t
	return t, nil
}

// freePort finds an unused port at ip, cycling through the dynamic range. n.mu is held.
func (n *Network) freePort(ip netip.Addr) (netip.AddrPort, bool) {
	const first, count = 49152, 65536 - 49152
	for range count {
		n.nextPort++
		if n.nextPort < first {
			n.nextPort = first
		}
		ap := netip.AddrPortFrom(ip, n.nextPort)
		if n.listeners[ap] == nil {
			return ap, true
		}
	}
	return netip.AddrPort{}, false
}

// HostPort is the port NewTransport gives every transport it creates.
const HostPort = 4000

// NewTransport attaches a new transport at the next free address of 10.0.0.0/8, each on
// its own IP (10.0.0.1:4000, 10.0.0.2:4000, …), so that nodes look like distinct hosts.
func (n *Network) NewTransport() (*Transport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for range 1 << 24 {
		n.nextHost = (n.nextHost + 1) & (1<<24 - 1)
		h := n.nextHost
		if h == 0 {
			continue
		}
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(h >> 16), byte(h >> 8), byte(h)}), HostPort)
		if n.listeners[ap] == nil {
			t := newTransport(n, ap)
			n.listeners[ap] = t
			return t, nil
		}
	}
	return nil, fmt.Errorf("mem: no free address in 10.0.0.0/8: %w", ErrAddrInUse)
}

// SetNAT puts the host at addr behind a port-restricted NAT, as a home router or a
// carrier-grade NAT would: a request reaches it only from an address it sent a message
// to within timeout, the life of the NAT's mapping. Its own requests, and the replies
// to them, pass. A timeout of 0 takes the NAT away.
func (n *Network) SetNAT(addr netip.AddrPort, timeout time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if timeout <= 0 {
		delete(n.nat, addr)
		return
	}
	n.nat[addr] = &natState{timeout: timeout, mapped: make(map[netip.AddrPort]time.Time)}
}

// natState is a NAT's mappings: the addresses its host sent to, and when it last did.
type natState struct {
	timeout time.Duration
	mapped  map[netip.AddrPort]time.Time
	prune   int // len(mapped) at which expired mappings are next removed
}

// sent records that the host sent a message to peer at now.
func (s *natState) sent(peer netip.AddrPort, now time.Time) {
	if len(s.mapped) >= s.prune {
		for p, t := range s.mapped {
			if now.Sub(t) >= s.timeout {
				delete(s.mapped, p)
			}
		}
		s.prune = max(64, 2*len(s.mapped))
	}
	s.mapped[peer] = now
}

// admits reports whether a request from peer gets through at now.
func (s *natState) admits(peer netip.AddrPort, now time.Time) bool {
	t, ok := s.mapped[peer]
	return ok && now.Sub(t) < s.timeout
}

// SetLatency changes the fixed delay and jitter of messages sent from now on. It has no
// effect on a network with a Model.
func (n *Network) SetLatency(latency, jitter time.Duration) {
	n.mu.Lock()
	n.latency, n.jitter = max(latency, 0), max(jitter, 0)
	n.mu.Unlock()
}

// SetLoss changes the probability that a message sent from now on is dropped; it is
// clamped to [0, 1]. It has no effect on a network with a Model.
func (n *Network) SetLoss(p float64) {
	n.mu.Lock()
	n.loss = min(max(p, 0), 1)
	n.mu.Unlock()
}

// Disconnect cuts the link between a and b in both directions: messages between them
// are dropped silently, as on a real network, so calls end with their contexts.
func (n *Network) Disconnect(a, b netip.AddrPort) {
	n.mu.Lock()
	n.cut[newLink(a, b)] = struct{}{}
	n.mu.Unlock()
}

// Connect restores the link between a and b that Disconnect cut. It does not undo a
// Partition.
func (n *Network) Connect(a, b netip.AddrPort) {
	n.mu.Lock()
	delete(n.cut, newLink(a, b))
	n.mu.Unlock()
}

// Partition splits the network: addresses in different groups cannot reach each other.
// Addresses in no group form one more group together. It replaces any earlier Partition.
func (n *Network) Partition(groups ...[]netip.AddrPort) {
	n.mu.Lock()
	clear(n.group)
	for i, g := range groups {
		for _, ap := range g {
			n.group[ap] = i + 1
		}
	}
	n.mu.Unlock()
}

// Heal removes every partition and reconnects every link Disconnect cut.
func (n *Network) Heal() {
	n.mu.Lock()
	clear(n.group)
	clear(n.cut)
	n.mu.Unlock()
}

// Stats returns the network's counters.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// request decides the fate of a request from one address to another: unreachable when
// nobody listens at to, dropped (dst nil), or delivered to dst after delay.
func (n *Network) request(from, to netip.AddrPort) (dst *Transport, delay time.Duration, unreachable bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	// A partition hides even the absence of a listener, as a real one would.
	if !n.passLocked(from, to) {
		return nil, 0, false
	}
	if dst = n.listeners[to]; dst == nil {
		return nil, 0, true
	}
	now := time.Now()
	if s := n.nat[from]; s != nil {
		s.sent(to, now)
	}
	if s := n.nat[to]; s != nil && !s.admits(from, now) {
		n.stats.Filtered++
		return nil, 0, false
	}
	if delay, ok := n.delayLocked(from, to); ok {
		return dst, delay, false
	}
	return nil, 0, false
}

// response decides the fate of a response: dropped (ok false) or delivered after delay.
func (n *Network) response(from, to netip.AddrPort) (delay time.Duration, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.passLocked(from, to) {
		return 0, false
	}
	if s := n.nat[from]; s != nil {
		s.sent(to, time.Now())
	}
	return n.delayLocked(from, to)
}

// passLocked counts a message and reports whether the partitions let it through.
func (n *Network) passLocked(from, to netip.AddrPort) bool {
	n.stats.Sent++
	if _, cut := n.cut[newLink(from, to)]; cut || n.group[from] != n.group[to] {
		n.stats.Cut++
		return false
	}
	return true
}

// delayLocked draws a message's loss and delay.
func (n *Network) delayLocked(from, to netip.AddrPort) (time.Duration, bool) {
	if n.model != nil {
		d, ok := n.model.Delay(from.Addr(), to.Addr(), n.rng)
		if !ok {
			n.stats.Lost++
		}
		return d, ok
	}
	if n.loss > 0 && n.rng.Float64() < n.loss {
		n.stats.Lost++
		return 0, false
	}
	delay := n.latency
	if n.jitter > 0 {
		delay += time.Duration(n.rng.Int64N(int64(n.jitter)))
	}
	return delay, true
}

// detach removes t from the network if it still listens at its address.
func (n *Network) detach(t *Transport) {
	n.mu.Lock()
	if n.listeners[t.addr] == t {
		delete(n.listeners, t.addr)
	}
	n.mu.Unlock()
}
