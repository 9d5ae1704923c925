package bench

import (
	"fmt"
	"io"
	"time"

	"kad/protocol"
)

// The transports a cluster can run over.
const (
	TransportUDP  = "udp"
	TransportQUIC = "quic"
	TransportMem  = "mem"
)

// Defaults of Config. They keep a default run of 50 nodes well under a minute on two
// cores.
const (
	DefaultNodes          = 50
	DefaultOps            = 1000
	DefaultParallel       = 8
	DefaultValueSize      = 100
	DefaultBootstrapPeers = 3
	DefaultOpTimeout      = 10 * time.Second
	DefaultRPCTimeout     = 2 * time.Second
	DefaultProgressEvery  = 5 * time.Second
)

// Bounds of Config, so that every loop of a run is bounded.
const (
	MaxNodes          = 5000
	MaxOps            = 1_000_000
	MaxParallel       = 1024
	MaxBootstrapPeers = 16
)

// Config describes one benchmark run. Zero values mean the defaults above, except Seed,
// for which 0 is a seed like any other. The same seed gives the same node IDs, keys,
// values and choices of callers.
type Config struct {
	// Nodes is how many nodes the cluster has (2..MaxNodes).
	Nodes int
	// Ops is how many puts, gets and lookups each phase runs.
	Ops int
	// Transport is udp, quic or mem.
	Transport string
	// Parallel is how many concurrent callers the parallel phase has.
	Parallel int
	// ValueSize is the size in bytes of each stored value.
	ValueSize int
	// Seed seeds every random choice of the run.
	Seed uint64
	// K and Alpha are the nodes' bucket size and lookup parallelism; zero means the
	// node's defaults.
	K, Alpha int
	// BootstrapPeers is how many earlier nodes (at most) each node joins through.
	BootstrapPeers int
	// OpTimeout bounds one put, get or lookup, and one node's bootstrap.
	OpTimeout time.Duration
	// RPCTimeout bounds one request of a node.
	RPCTimeout time.Duration
	// Out receives the table of results as the run goes; nil discards it.
	Out io.Writer
	// Progress receives a progress line every ProgressEvery during long phases; nil
	// means none.
	Progress      io.Writer
	ProgressEvery time.Duration
}

func (c Config) withDefaults() Config {
	if c.Nodes == 0 {
		c.Nodes = DefaultNodes
	}
	if c.Ops == 0 {
		c.Ops = DefaultOps
	}
	if c.Transport == "" {
		c.Transport = TransportUDP
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	if c.ValueSize == 0 {
		c.ValueSize = DefaultValueSize
	}
	if c.K == 0 {
		c.K = protocol.K
	}
	if c.Alpha == 0 {
		c.Alpha = protocol.Alpha
	}
	if c.BootstrapPeers == 0 {
		c.BootstrapPeers = DefaultBootstrapPeers
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.RPCTimeout == 0 {
		c.RPCTimeout = DefaultRPCTimeout
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// Validate reports the first field of c (after defaults) that is out of range, naming
// it as the command line does.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Nodes < 2 || c.Nodes > MaxNodes:
		return fmt.Errorf("--nodes %d: want 2..%d", c.Nodes, MaxNodes)
	case c.Ops < 1 || c.Ops > MaxOps:
		return fmt.Errorf("--ops %d: want 1..%d", c.Ops, MaxOps)
	case c.Transport != TransportUDP && c.Transport != TransportQUIC && c.Transport != TransportMem:
		return fmt.Errorf("--transport %q: want udp, quic or mem", c.Transport)
	case c.Parallel < 1 || c.Parallel > MaxParallel:
		return fmt.Errorf("--parallel %d: want 1..%d", c.Parallel, MaxParallel)
	case c.ValueSize < 1 || c.ValueSize > protocol.MaxValueSize:
		return fmt.Errorf("--value-size %d: want 1..%d", c.ValueSize, protocol.MaxValueSize)
	case c.K < 1 || c.K > protocol.MaxContacts:
		return fmt.Errorf("--k %d: want 1..%d", c.K, protocol.MaxContacts)
	case c.Alpha < 1 || c.Alpha > c.K:
		return fmt.Errorf("--alpha %d: want 1..k (%d)", c.Alpha, c.K)
	case c.BootstrapPeers < 1 || c.BootstrapPeers > MaxBootstrapPeers:
		return fmt.Errorf("--bootstrap-peers %d: want 1..%d", c.BootstrapPeers, MaxBootstrapPeers)
	case c.OpTimeout < 0:
		return fmt.Errorf("--timeout %v: want more than 0", c.OpTimeout)
	case c.RPCTimeout < 0:
		return fmt.Errorf("--rpc-timeout %v: want more than 0", c.RPCTimeout)
	case c.ProgressEvery < 0:
		return fmt.Errorf("progress interval %v: want more than 0", c.ProgressEvery)
	}
	return nil
}
