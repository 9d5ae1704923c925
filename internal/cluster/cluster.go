package cluster

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"kad/identity"
	"kad/internal/transport"
	"kad/node"
	"kad/protocol"
	"kad/store"
	"kad/transports"
	"kad/transports/mem"
)

// Join says how the nodes of a cluster join it.
type Join int

const (
	// JoinRandom: node i bootstraps through up to JoinPeers distinct nodes among the
	// i before it, chosen at random. The default.
	JoinRandom Join = iota
	// JoinFirst: every node bootstraps through node 0.
	JoinFirst
	// JoinNone: the nodes are started and not joined; call Cluster.Join.
	JoinNone
)

// Options set up a cluster. Zero values mean the defaults.
type Options struct {
	// Transport is the name of the nodes' transport (package internal/transport).
	// Default mem.
	Transport string
	// Network is the mem network the nodes attach to; nil makes one with Mem.
	Network *mem.Network
	// Mem configures the network made when Network is nil.
	Mem mem.Options
	// Config is every node's configuration. Its ID is ignored: each node's ID is that
	// of its key.
	Config node.Config
	// Configure, when set, adjusts node i's configuration before it starts.
	Configure func(i int, cfg *node.Config)
	// Wrap, when set, wraps node i's transport (to delay or drop its calls, say).
	Wrap func(i int, tr transports.Transport) transports.Transport
	// Join is how the nodes join; JoinPeers how many earlier nodes each joins through
	// with JoinRandom (default 1), and JoinTimeout bounds one node's Bootstrap (default
	// 2 minutes).
	Join        Join
	JoinPeers   int
	JoinTimeout time.Duration
	// OnJoin, when set, is called after each node's Bootstrap with how long it took.
	OnJoin func(i int, took time.Duration)
	// Seed draws every node's key (and so its ID, the same over every transport), its
	// source of randomness, and the join choices. Two clusters on one Network need
	// different seeds, or their nodes share IDs.
	Seed uint64
}

// Cluster is a set of running nodes.
type Cluster struct {
	// Nodes are the nodes in the order they started. A killed node stays, closed.
	Nodes []*node.Node
	// Network is the mem network of a mem cluster, nil otherwise.
	Network *mem.Network

	opts Options
	rng  *rand.Rand // guarded by mu, as are dead, keys and configs
	mu   sync.Mutex
	dead map[int]bool
	// keys and configs are each node's, for Restart.
	keys    []ed25519.PrivateKey
	configs []node.Config
}

// New starts a cluster of n nodes for a test, as Start does, and closes it when the test
// ends. Unless opts.Config says otherwise, requests time out after a generous 5 s: the
// race detector on a loaded 2-core machine can stretch a loopback round trip past the
// default second, and in a healthy cluster no request should time out at all.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if opts.Config.RPCTimeout == 0 {
		opts.Config.RPCTimeout = 5 * time.Second
	}
	c, err := Start(context.Background(), n, opts)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Start starts n nodes and joins them as opts.Join says. On failure it returns the
// cluster as far as it got, to be closed, with the error.
func Start(ctx context.Context, n int, opts Options) (*Cluster, error) {
	if opts.Transport == "" {
		opts.Transport = transport.Mem
	}
	if err := transport.Check(opts.Transport); err != nil {
		return nil, err
	}
	if opts.JoinPeers <= 0 {
		opts.JoinPeers = 1
	}
	if opts.JoinTimeout <= 0 {
		opts.JoinTimeout = 2 * time.Minute
	}
	c := &Cluster{
		opts: opts,
		rng:  rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5bd1e9955bd1e995)),
		dead: make(map[int]bool),
	}
	if opts.Transport == transport.Mem {
		c.Network = opts.Network
		if c.Network == nil {
			nw, err := mem.NewNetwork(opts.Mem)
			if err != nil {
				return nil, err
			}
			c.Network = nw
		}
	}
	c.Nodes = make([]*node.Node, 0, n)
	for range n {
		if _, err := c.start(); err != nil {
			return c, err
		}
	}
	if opts.Join == JoinNone {
		return c, nil
	}
	for i := 1; i < n; i++ {
		if _, err := c.Join(ctx, i); err != nil {
			return c, err
		}
	}
	return c, nil
}

// start starts one more node, not joined.
func (c *Cluster) start() (*node.Node, error) {
	c.mu.Lock()
	i := len(c.Nodes)
	var seed [ed25519.SeedSize]byte
	fill(c.rng, seed[:])
	var random [32]byte
	fill(c.rng, random[:])
	c.mu.Unlock()
	key := ed25519.NewKeyFromSeed(seed[:])
	cfg := c.opts.Config
	cfg.ID = identity.IDFromKey(key)
	cfg.Rand = newLockedRand(random)
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	if cfg.Store == nil {
		// The node's store outlives it, as a data directory would, for Restart.
		cfg.Store = store.NewMemory()
	}
	n, err := c.newNode(i, key, cfg, "")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.Nodes = append(c.Nodes, n)
	c.keys = append(c.keys, key)
	c.configs = append(c.configs, cfg)
	c.mu.Unlock()
	return n, nil
}

// newNode opens a transport (at bind, when not empty) and starts node i on it.
func (c *Cluster) newNode(i int, key ed25519.PrivateKey, cfg node.Config, bind string) (*node.Node, error) {
	tr, err := c.listen(key, bind)
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", i, err)
	}
	if c.opts.Wrap != nil {
		tr = c.opts.Wrap(i, tr)
	}
	n, err := node.New(cfg, tr)
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", i, err)
	}
	return n, nil
}

// listen opens a transport for key, at bind when not empty.
func (c *Cluster) listen(key ed25519.PrivateKey, bind string) (transports.Transport, error) {
	if c.Network != nil && bind != "" {
		return c.Network.Listen(netip.MustParseAddrPort(bind))
	}
	return transport.Open(c.opts.Transport, transport.Options{Key: key, Network: c.Network, Bind: bind})
}

// Restart starts node i again after Kill, as a process restarted on its host would come
// back: with the same key and ID, at the same address, with the records its store held.
// It does not join: its routing table is empty until Join or a call of its own.
func (c *Cluster) Restart(i int) (*node.Node, error) {
	c.mu.Lock()
	if i < 0 || i >= len(c.Nodes) || !c.dead[i] {
		c.mu.Unlock()
		return nil, fmt.Errorf("cluster: restart node %d: not a killed node", i)
	}
	old, key, cfg := c.Nodes[i], c.keys[i], c.configs[i]
	c.mu.Unlock()
	n, err := c.newNode(i, key, cfg, old.Addr().String())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.Nodes[i] = n
	delete(c.dead, i)
	c.mu.Unlock()
	return n, nil
}

// Add starts one more node, at index len(Nodes), without joining it: it knows no one
// until Join or a call of its own. Unlike a second New on the same Network, it draws a
// key no other node of the cluster has.
func (c *Cluster) Add() (*node.Node, error) {
	return c.start()
}

// Join bootstraps node i (i ≥ 1) through earlier live nodes as the cluster's Join says
// (JoinNone joins like JoinRandom), and returns how long its Bootstrap took.
func (c *Cluster) Join(ctx context.Context, i int) (time.Duration, error) {
	c.mu.Lock()
	var earlier []int
	for j := range i {
		if !c.dead[j] {
			earlier = append(earlier, j)
		}
	}
	var seeds []protocol.Contact
	switch {
	case len(earlier) == 0:
	case c.opts.Join == JoinFirst:
		seeds = append(seeds, c.Nodes[earlier[0]].Contact())
	default:
		c.rng.Shuffle(len(earlier), func(a, b int) { earlier[a], earlier[b] = earlier[b], earlier[a] })
		for _, j := range earlier[:min(c.opts.JoinPeers, len(earlier))] {
			seeds = append(seeds, c.Nodes[j].Contact())
		}
	}
	n := c.Nodes[i]
	c.mu.Unlock()
	if len(seeds) == 0 {
		return 0, fmt.Errorf("node %d: no live node to join through", i)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.JoinTimeout)
	defer cancel()
	start := time.Now()
	err := n.Bootstrap(ctx, seeds...)
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("node %d (%s) bootstrap: %w", i, n.ID().Short(), err)
	}
	if c.opts.OnJoin != nil {
		c.opts.OnJoin(i, took)
	}
	return took, nil
}

// Kill stops the given nodes at once, as a crash would: they stop answering, and the
// others learn of it only by their silence.
func (c *Cluster) Kill(idx ...int) {
	c.mu.Lock()
	var ns []*node.Node
	for _, i := range idx {
		if !c.dead[i] {
			c.dead[i] = true
			ns = append(ns, c.Nodes[i])
		}
	}
	c.mu.Unlock()
	closeAll(ns)
}

// Alive returns the nodes not killed, in start order.
func (c *Cluster) Alive() []*node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node.Node
	for i, n := range c.Nodes {
		if !c.dead[i] {
			out = append(out, n)
		}
	}
	return out
}

// Partition splits a mem cluster: nodes in different groups (indices into Nodes) cannot
// reach each other, and nodes in no group form one more group. It replaces any earlier
// partition.
func (c *Cluster) Partition(groups ...[]int) error {
	if c.Network == nil {
		return errors.New("cluster: Partition needs a mem cluster")
	}
	addrs := make([][]netip.AddrPort, len(groups))
	for g, idx := range groups {
		for _, i := range idx {
			addrs[g] = append(addrs[g], c.Nodes[i].Addr())
		}
	}
	c.Network.Partition(addrs...)
	return nil
}

// Heal undoes Partition.
func (c *Cluster) Heal() error {
	if c.Network == nil {
		return errors.New("cluster: Heal needs a mem cluster")
	}
	c.Network.Heal()
	return nil
}

// TrueClosest returns the IDs of the k live nodes closest to target, by brute force,
// leaving out skip (the node asking: a lookup never returns itself).
func (c *Cluster) TrueClosest(target protocol.ID, k int, skip protocol.ID) []protocol.ID {
	var ids []protocol.ID
	for _, n := range c.Alive() {
		if n.ID() != skip {
			ids = append(ids, n.ID())
		}
	}
	slices.SortFunc(ids, target.CmpDistance)
	return ids[:min(k, len(ids))]
}

// Stats sums the counters of the live nodes.
func (c *Cluster) Stats() node.Stats {
	var sum node.Stats
	for _, n := range c.Alive() {
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
		sum.StoredBytes += s.StoredBytes
		for i := range s.Sent {
			for o, v := range s.Sent[i] {
				sum.Sent[i][o] += v
			}
		}
		for i := range s.Received {
			for o, v := range s.Received[i] {
				sum.Received[i][o] += v
			}
		}
	}
	return sum
}

// Close stops every node, all at once, and returns the first error that is not about a
// node already closed.
func (c *Cluster) Close() error {
	c.mu.Lock()
	ns := slices.Clone(c.Nodes)
	for i := range c.Nodes {
		c.dead[i] = true
	}
	c.mu.Unlock()
	return closeAll(ns)
}

func closeAll(ns []*node.Node) error {
	errs := make([]error, len(ns))
	var wg sync.WaitGroup
	for i, n := range ns {
		wg.Go(func() {
			if err := n.Close(); err != nil && !errors.Is(err, node.ErrClosed) {
				errs[i] = fmt.Errorf("close node %s: %w", n.ID().Short(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fill fills b from rng.
func fill(rng *rand.Rand, b []byte) {
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
