package sim

import (
	"cmp"
	"fmt"
	"io"
	"time"

	"kad/node"
	"kad/protocol"
)

// The latency models of Config.LatencyModel.
const (
	// LatencyFixed delays every message by Config.Latency.
	LatencyFixed = "fixed"
	// LatencyInternet places every host at a city and delays each message as the
	// internet between the two would (package transports/mem/internet).
	LatencyInternet = "internet"
)

// Defaults of Config.
const (
	DefaultNodes         = 1000
	DefaultValues        = 100
	DefaultLookups       = 1000
	DefaultLatencyModel  = LatencyInternet
	DefaultLatency       = 25 * time.Millisecond
	DefaultNATTimeout    = 2 * time.Minute
	DefaultTimeScale     = 1
	DefaultJoinParallel  = 256
	DefaultJoinPeers     = 3
	DefaultParallel      = 32
	DefaultRPCTimeout    = time.Second
	DefaultOpTimeout     = time.Minute
	DefaultProgressEvery = 5 * time.Second
)

// Bounds of Config, so that every loop of a run is bounded.
const (
	MaxNodes        = 200_000
	MaxValues       = 1_000_000
	MaxLookups      = 1_000_000
	MaxLatency      = 10 * time.Second
	MaxMaintain     = 24 * time.Hour
	MaxTimeScale    = 3600
	MaxJoinParallel = 4096
	MaxJoinPeers    = 16
	MaxParallel     = 1024
	MaxTimeout      = time.Hour
)

// Config describes one simulation. Zero values mean the defaults above, except for
// Seed, Loss, NAT, Kill and Maintain, for which 0 is a value like any other (no loss,
// no NAT, no kill, no wait). The same seed gives the same node IDs, hosts and places on
// the map, the same NAT'd hosts, keys, killed nodes, callers and lookup targets; which
// nodes a node joins through depends on which have finished joining when it starts.
type Config struct {
	// Nodes is how many nodes the network has (2..MaxNodes).
	Nodes int
	// Values is how many values are stored before the scenario, each under a random key
	// from a random node.
	Values int
	// Lookups is how many gets of stored keys, and how many node lookups of random
	// targets, are measured, each from a random live node.
	Lookups int
	// Seed seeds every random choice of the run.
	Seed uint64
	// K and Alpha are the nodes' bucket size and lookup parallelism; zero means the
	// node's defaults (20 and 3).
	K, Alpha int
	// LatencyModel is LatencyFixed or LatencyInternet.
	LatencyModel string
	// Latency is the one-way delay of every message with LatencyFixed (a round trip
	// takes twice as long).
	Latency time.Duration
	// Loss is the probability that a message is lost, in either model.
	Loss float64
	// NAT is the fraction of hosts behind a port-restricted NAT, whose mappings live
	// NATTimeout: such a host gets a request only from an address it sent to within
	// that time. The first node, through which the first joins go, is never NAT'd.
	NAT        float64
	NATTimeout time.Duration
	// Kill is the fraction of nodes killed at once, silently, after the values are
	// stored; Maintain is how long the survivors then run their maintenance before
	// the gets and lookups are measured.
	Kill     float64
	Maintain time.Duration
	// TimeScale divides the nodes' maintenance intervals (tRefresh, tReplicate,
	// tRepublish, tExpire and the store's sweep), so that a scenario of simulated hours
	// runs in minutes: with 60, a replication interval of 1 h passes in 1 min. Latency,
	// timeouts and NAT mappings are not scaled.
	TimeScale float64
	// JoinParallel is how many nodes join at once; JoinPeers how many earlier nodes,
	// not NAT'd and done joining, each joins through.
	JoinParallel int
	JoinPeers    int
	// NoRateLimit turns off the nodes' per-sender request rate limit
	// (node.Config.RequestRate), whose state is about a third of an idle node's memory
	// in a large network; no sender of a simulation comes near the limit.
	NoRateLimit bool
	// Parallel is how many puts, gets or lookups run at once.
	Parallel int
	// RPCTimeout bounds one request of a node; OpTimeout one join, put, get or lookup.
	RPCTimeout time.Duration
	OpTimeout  time.Duration
	// MaxMemory bounds the memory the process may hold (the Go runtime's, in bytes):
	// past it the run stops with ErrOverMemory, before the machine runs out. Default:
	// three quarters of the machine's memory.
	MaxMemory uint64
	// Out receives the table of results; nil discards it.
	Out io.Writer
	// Progress receives a line every ProgressEvery during long phases; nil means none.
	Progress      io.Writer
	ProgressEvery time.Duration
}

func (c Config) withDefaults() Config {
	c.Nodes = cmp.Or(c.Nodes, DefaultNodes)
	c.Values = cmp.Or(c.Values, DefaultValues)
	c.Lookups = cmp.Or(c.Lookups, DefaultLookups)
	c.K = cmp.Or(c.K, protocol.K)
	c.Alpha = cmp.Or(c.Alpha, protocol.Alpha)
	c.LatencyModel = cmp.Or(c.LatencyModel, DefaultLatencyModel)
	c.Latency = cmp.Or(c.Latency, DefaultLatency)
	c.NATTimeout = cmp.Or(c.NATTimeout, DefaultNATTimeout)
	c.TimeScale = cmp.Or(c.TimeScale, DefaultTimeScale)
	c.JoinParallel = cmp.Or(c.JoinParallel, DefaultJoinParallel)
	c.JoinPeers = cmp.Or(c.JoinPeers, DefaultJoinPeers)
	c.Parallel = cmp.Or(c.Parallel, DefaultParallel)
	c.RPCTimeout = cmp.Or(c.RPCTimeout, DefaultRPCTimeout)
	c.OpTimeout = cmp.Or(c.OpTimeout, DefaultOpTimeout)
	c.ProgressEvery = cmp.Or(c.ProgressEvery, DefaultProgressEvery)
	if c.MaxMemory == 0 {
		c.MaxMemory = defaultMaxMemory()
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// ConfigError is the error of Config.Validate. It is node's type, so that a program
// words the errors of both Configs, which share K, Alpha and RPCTimeout, in one way.
type ConfigError = node.ConfigError

// Validate reports the first field of c, with its defaults filled in, that is out of
// range, as a *ConfigError naming it.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field string, value any, want string) error {
		return &ConfigError{Field: field, Value: value, Want: want}
	}
	ints := []struct {
		field     string
		v, lo, hi int
	}{
		{"Nodes", c.Nodes, 2, MaxNodes},
		{"Values", c.Values, 1, MaxValues},
		{"Lookups", c.Lookups, 1, MaxLookups},
		{"JoinParallel", c.JoinParallel, 1, MaxJoinParallel},
		{"JoinPeers", c.JoinPeers, 1, MaxJoinPeers},
		{"Parallel", c.Parallel, 1, MaxParallel},
	}
	for _, f := range ints {
		if f.v < f.lo || f.v > f.hi {
			return bad(f.field, f.v, fmt.Sprintf("%d..%d", f.lo, f.hi))
		}
	}
	if c.LatencyModel != LatencyFixed && c.LatencyModel != LatencyInternet {
		return bad("LatencyModel", c.LatencyModel, LatencyFixed+" or "+LatencyInternet)
	}
	fractions := []struct {
		field string
		v     float64
	}{{"Loss", c.Loss}, {"NAT", c.NAT}, {"Kill", c.Kill}}
	for _, f := range fractions {
		if !(f.v >= 0 && f.v <= 1) {
			return bad(f.field, f.v, "0..1")
		}
	}
	if c.Kill*float64(c.Nodes) > float64(c.Nodes-2) {
		return bad("Kill", c.Kill, fmt.Sprintf("at most %d of %d nodes, so that two live on", c.Nodes-2, c.Nodes))
	}
	if !(c.TimeScale >= 1 && c.TimeScale <= MaxTimeScale) {
		return bad("TimeScale", c.TimeScale, fmt.Sprintf("1..%d", MaxTimeScale))
	}
	durations := []struct {
		field    string
		d, max   time.Duration
		positive bool // 0 is not allowed
	}{
		{"Latency", c.Latency, MaxLatency, true}, {"NATTimeout", c.NATTimeout, MaxTimeout, true},
		{"Maintain", c.Maintain, MaxMaintain, false}, {"RPCTimeout", c.RPCTimeout, MaxTimeout, true},
		{"OpTimeout", c.OpTimeout, MaxTimeout, true}, {"ProgressEvery", c.ProgressEvery, MaxTimeout, false},
	}
	for _, d := range durations {
		switch {
		case d.positive && (d.d <= 0 || d.d > d.max):
			return bad(d.field, d.d, fmt.Sprintf("more than 0, at most %v", d.max))
		case d.d < 0 || d.d > d.max:
			return bad(d.field, d.d, fmt.Sprintf("0..%v", d.max))
		}
	}
	return c.nodeConfig().Validate()
}

// nodeConfig is every node's configuration, its maintenance intervals scaled.
func (c Config) nodeConfig() node.Config {
	scale := func(d time.Duration) time.Duration {
		return max(time.Duration(float64(d)/c.TimeScale), time.Millisecond)
	}
	cfg := node.Config{
		K:                 c.K,
		Alpha:             c.Alpha,
		RPCTimeout:        c.RPCTimeout,
		RecordTTL:         scale(protocol.TExpire),
		SweepInterval:     scale(time.Minute),
		RefreshInterval:   scale(protocol.TRefresh),
		ReplicateInterval: scale(protocol.TReplicate),
		RepublishInterval: scale(protocol.TRepublish),
	}
	if c.NoRateLimit {
		cfg.RequestRate = -1
	}
	return cfg
}
