package bench

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"kad/internal/transport"
	"kad/node"
	"kad/protocol"
)

// The transports a cluster can run over: every one package transport opens.
const (
	TransportUDP  = transport.UDP
	TransportQUIC = transport.QUIC
	TransportMem  = transport.Mem
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
	// DefaultIdleWait outlasts the QUIC transport's longest default linger (12 s, for a
	// connection the peer dialed, quic.Options.MaxLinger plus Linger), so that the idle
	// node is measured as it stays.
	DefaultIdleWait = 13 * time.Second
)

// Bounds of Config, so that every loop of a run is bounded.
const (
	MaxNodes          = 5000
	MaxOps            = 1_000_000
	MaxParallel       = 1024
	MaxBootstrapPeers = 16
	MaxIdleWait       = 10 * time.Minute
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
	// IdleWait is how long the joined cluster stays without traffic before the idle
	// node is measured; negative means only until the goroutines settle.
	IdleWait time.Duration
	// Out receives the table of results as the run goes; nil discards it.
	Out io.Writer
	// HeapProfile, when set, receives a heap profile (runtime/pprof) of the idle
	// cluster, taken when the idle node is measured.
	HeapProfile io.Writer
	// Progress receives a progress line every ProgressEvery during long phases; nil
	// means none.
	Progress      io.Writer
	ProgressEvery time.Duration
}

func (c Config) withDefaults() Config {
	c.Nodes = cmp.Or(c.Nodes, DefaultNodes)
	c.Ops = cmp.Or(c.Ops, DefaultOps)
	c.Transport = cmp.Or(c.Transport, TransportUDP)
	c.Parallel = cmp.Or(c.Parallel, DefaultParallel)
	c.ValueSize = cmp.Or(c.ValueSize, DefaultValueSize)
	c.K = cmp.Or(c.K, protocol.K)
	c.Alpha = cmp.Or(c.Alpha, protocol.Alpha)
	c.BootstrapPeers = cmp.Or(c.BootstrapPeers, DefaultBootstrapPeers)
	c.OpTimeout = cmp.Or(c.OpTimeout, DefaultOpTimeout)
	c.RPCTimeout = cmp.Or(c.RPCTimeout, DefaultRPCTimeout)
	c.ProgressEvery = cmp.Or(c.ProgressEvery, DefaultProgressEvery)
	c.IdleWait = cmp.Or(c.IdleWait, DefaultIdleWait)
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// ConfigError is the error of Config.Validate: which field of Config is out of range,
// its value, and what it should be. It is node's type, so that a program words the
// errors of both Configs, which share the fields K and Alpha, in one way.
type ConfigError = node.ConfigError

// Validate reports the first field of c, with its defaults filled in, that is out of
// range, as a *ConfigError naming it. K and Alpha are checked as node.Config checks
// them.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field string, value any, want string) error {
		return &ConfigError{Field: field, Value: value, Want: want}
	}
	if c.Nodes < 2 || c.Nodes > MaxNodes {
		return bad("Nodes", c.Nodes, fmt.Sprintf("2..%d", MaxNodes))
	}
	if c.Ops < 1 || c.Ops > MaxOps {
		return bad("Ops", c.Ops, fmt.Sprintf("1..%d", MaxOps))
	}
	if transport.Check(c.Transport) != nil {
		return bad("Transport", c.Transport, "one of "+strings.Join(transport.Names, ", "))
	}
	if c.Parallel < 1 || c.Parallel > MaxParallel {
		return bad("Parallel", c.Parallel, fmt.Sprintf("1..%d", MaxParallel))
	}
	if c.ValueSize < 1 || c.ValueSize > protocol.MaxValueSize {
		return bad("ValueSize", c.ValueSize, fmt.Sprintf("1..%d", protocol.MaxValueSize))
	}
	if err := (node.Config{K: c.K, Alpha: c.Alpha}).Validate(); err != nil {
		return err
	}
	if c.BootstrapPeers < 1 || c.BootstrapPeers > MaxBootstrapPeers {
		return bad("BootstrapPeers", c.BootstrapPeers, fmt.Sprintf("1..%d", MaxBootstrapPeers))
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"OpTimeout", c.OpTimeout}, {"RPCTimeout", c.RPCTimeout}, {"ProgressEvery", c.ProgressEvery}} {
		if d.d < 0 {
			return bad(d.field, d.d, "more than 0")
		}
	}
	if c.IdleWait > MaxIdleWait {
		return bad("IdleWait", c.IdleWait, fmt.Sprintf("at most %v", MaxIdleWait))
	}
	return nil
}
