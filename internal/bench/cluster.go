package bench

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"kad/identity"
	"kad/node"
	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
	"kad/transports/quic"
	"kad/transports/udp"
)

// cluster is the running nodes of one benchmark. close stops every one of them.
type cluster struct {
	nodes []*node.Node
}

// listener opens a fresh transport for one node.
type listener func(key ed25519.PrivateKey) (transports.Transport, error)

func newListener(cfg Config) (listener, error) {
	switch cfg.Transport {
	case TransportUDP:
		return func(ed25519.PrivateKey) (transports.Transport, error) {
			return udp.Listen("127.0.0.1:0", udp.Options{})
		}, nil
	case TransportQUIC:
		return func(key ed25519.PrivateKey) (transports.Transport, error) {
			return quic.Listen("127.0.0.1:0", key, quic.Options{})
		}, nil
	case TransportMem:
		network, err := mem.NewNetwork(mem.Options{Seed: cfg.Seed})
		if err != nil {
			return nil, err
		}
		return func(ed25519.PrivateKey) (transports.Transport, error) {
			return network.NewTransport()
		}, nil
	}
	return nil, fmt.Errorf("transport %q: want udp, quic or mem", cfg.Transport)
}

// startNodes creates cfg.Nodes nodes, each with an Ed25519 key drawn from rng (so the
// same seed gives the same IDs over every transport). On failure it closes what it
// started.
func startNodes(cfg Config, rng *rand.Rand) (*cluster, error) {
	listen, err := newListener(cfg)
	if err != nil {
		return nil, err
	}
	c := &cluster{nodes: make([]*node.Node, 0, cfg.Nodes)}
	for i := range cfg.Nodes {
		var seed [ed25519.SeedSize]byte
		fillRandom(rng, seed[:])
		key := ed25519.NewKeyFromSeed(seed[:])
		tr, err := listen(key)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("node %d: listen: %w", i, err)
		}
		var random [32]byte
		fillRandom(rng, random[:])
		n, err := node.New(node.Config{
			ID:         identity.IDFromKey(key),
			K:          cfg.K,
			Alpha:      cfg.Alpha,
			RPCTimeout: cfg.RPCTimeout,
			Rand:       newLockedRand(random),
		}, tr)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		c.nodes = append(c.nodes, n)
	}
	return c, nil
}

// bootstrap joins node i of the cluster (i ≥ 1) through up to peers distinct earlier
// nodes chosen by rng, and returns how long its Bootstrap took.
func (c *cluster) bootstrap(ctx context.Context, i, peers int, rng *rand.Rand, timeout time.Duration) (time.Duration, error) {
	peers = min(peers, i)
	seeds := make([]protocol.Contact, 0, peers)
	for _, j := range rng.Perm(i)[:peers] {
		seeds = append(seeds, c.nodes[j].Contact())
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := c.nodes[i].Bootstrap(ctx, seeds...)
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("node %d (%s) bootstrap: %w", i, c.nodes[i].ID().Short(), err)
	}
	return d, nil
}

// stats sums the counters of every node.
func (c *cluster) stats() node.Stats {
	var sum node.Stats
	for _, n := range c.nodes {
		s := n.Stats()
		sum.RequestsSent += s.RequestsSent
		sum.RequestsFailed += s.RequestsFailed
		sum.RequestsHandled += s.RequestsHandled
		sum.RequestsRefused += s.RequestsRefused
		sum.Lookups += s.Lookups
		sum.LookupRequests += s.LookupRequests
		sum.LookupRounds += s.LookupRounds
		sum.ValuesFound += s.ValuesFound
		sum.RoutingTableSize += s.RoutingTableSize
		sum.StoredRecords += s.StoredRecords
	}
	return sum
}

// nonHolders appends to dst the indices of the nodes whose store does not hold key.
func (c *cluster) nonHolders(dst []int, key protocol.ID) []int {
	now := time.Now()
	for i, n := range c.nodes {
		if _, ok, _ := n.Store().Get(key, now); !ok {
			dst = append(dst, i)
		}
	}
	return dst
}

// close stops every node, all at once, and returns the first error that is not about a
// node already closed.
func (c *cluster) close() error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Close(); err != nil && !errors.Is(err, node.ErrClosed) {
				errs[i] = fmt.Errorf("close node %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fillRandom fills b from rng.
func fillRandom(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := i; j < min(i+8, len(b)); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
}

// lockedRand is a seeded io.Reader safe for concurrent use, for node.Config.Rand.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func newLockedRand(seed [32]byte) *lockedRand { return &lockedRand{r: rand.NewChaCha8(seed)} }

func (l *lockedRand) Read(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(b)
}
