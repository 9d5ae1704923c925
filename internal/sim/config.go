package sim

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"time"

	"kad/internal/churn"
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
	DefaultChurnShape    = churn.DefaultShape
	DefaultSampleGets    = 100
	// DefaultSamples is how many samples a scenario's timeline has when Sample is 0.
	DefaultSamples = 24
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
	// MaxDuration bounds a scenario's simulated length, and the median session and
	// partition within it.
	MaxDuration = 7 * 24 * time.Hour
	// MaxSamples bounds a timeline's length.
	MaxSamples = 10_000
	// MaxDepartures bounds the churn schedule: Nodes plus MaxDepartures nodes at most
	// are ever started.
	MaxDepartures = 1_000_000
)

// Config describes one simulation. Zero values mean the defaults above, except for
// Seed, Loss, NAT, Kill, Maintain, ChurnMedian, Duration, Partition, PartitionFor,
// Adversarial and DisjointPaths, for which 0 is a value like any other (no loss, no
// NAT, no kill, no wait, no churn, no partition, no adversary, one lookup path). The
// same seed gives the same node IDs, hosts and places on the map, the same NAT'd hosts,
// adversaries, keys, killed nodes, churn schedule (which nodes leave when, and the
// identities of those that replace them), partitioned nodes, callers and lookup
// targets; which nodes a node joins through depends on which have finished joining
// when it starts.
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
	// ChurnMedian, when not 0, makes nodes come and go through the scenario as package
	// internal/churn schedules it: each of the Nodes slots holds one node at a time,
	// whose session lasts a time drawn from a Weibull distribution of median ChurnMedian
	// and shape ChurnShape; when it ends the node leaves silently and a new node, with a
	// new identity and a new address, joins in its place.
	ChurnMedian time.Duration
	ChurnShape  float64
	// Duration is the scenario's simulated length; it runs Duration/TimeScale of real
	// time. Unlike Maintain, which is real time, it is scaled like the maintenance
	// intervals. The scenario lasts the longest of Duration, Maintain×TimeScale and,
	// when neither is set, twice PartitionFor.
	Duration time.Duration
	// Sample is the simulated time between two rounds of SampleGets gets during the
	// scenario, each recorded in Result.Timeline. Default: a 24th of the scenario.
	Sample     time.Duration
	SampleGets int
	// Partition is the fraction of the live nodes split off, at the scenario's start,
	// into a group of their own that cannot reach the others; PartitionFor, simulated,
	// is how long until the network heals.
	Partition    float64
	PartitionFor time.Duration
	// TimeScale divides the nodes' maintenance intervals (tRefresh, tReplicate,
	// tRepublish, tExpire and the store's sweep), so that a scenario of simulated hours
	// runs in minutes: with 60, a replication interval of 1 h passes in 1 min. Latency,
	// timeouts and NAT mappings are not scaled.
	TimeScale float64
	// JoinParallel is how many nodes join at once; JoinPeers how many earlier nodes,
	// not NAT'd and done joining, each joins through.
	JoinParallel int
	JoinPeers    int
	// Adversarial is the fraction of the Nodes that are adversaries (adversary.go): real
	// nodes that answer every FIND_NODE and FIND_VALUE with the K adversaries closest
	// to the key, and only them, and drop every STORE while answering STORED. They are
	// drawn among the first Nodes, never the first, and are not callers; the churn's
	// newcomers are honest, and every node joins through honest ones.
	Adversarial float64
	// DisjointPaths is the honest nodes' node.Config.DisjointPaths: 0 or 1 for the
	// single lookup, d ≥ 2 for lookups over d disjoint paths.
	DisjointPaths int
	// Reachability is the honest nodes' node.Config.Reachability: by default
	// ReachabilityAuto, so that a node that finds itself behind a NAT runs as a client;
	// ReachabilityPublic measures a network whose nodes never check.
	Reachability node.ReachabilityMode
	// NoRateLimit turns off the nodes' per-sender request rate limit
	// (node.Config.RequestRate); no sender of a simulation comes near the limit.
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
	// HeapProfile, when set, receives a heap profile (runtime/pprof) of the built
	// network, taken when the idle node is measured.
	HeapProfile io.Writer
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
	c.ChurnShape = cmp.Or(c.ChurnShape, DefaultChurnShape)
	c.SampleGets = cmp.Or(c.SampleGets, DefaultSampleGets)
	if c.Sample == 0 {
		c.Sample = c.scenarioLength() / DefaultSamples
	}
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
		{"SampleGets", c.SampleGets, 1, MaxLookups},
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
	}{{"Loss", c.Loss}, {"NAT", c.NAT}, {"Kill", c.Kill}, {"Partition", c.Partition}, {"Adversarial", c.Adversarial}}
	for _, f := range fractions {
		if !(f.v >= 0 && f.v <= 1) {
			return bad(f.field, f.v, "0..1")
		}
	}
	if c.Kill*float64(c.Nodes) > float64(c.Nodes-2) {
		return bad("Kill", c.Kill, fmt.Sprintf("at most %d of %d nodes, so that two live on", c.Nodes-2, c.Nodes))
	}
	if c.adversaries() > c.Nodes-2 {
		return bad("Adversarial", c.Adversarial, fmt.Sprintf("at most %d of %d nodes, so that two are honest", c.Nodes-2, c.Nodes))
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
		{"ChurnMedian", c.ChurnMedian, MaxDuration, false}, {"Duration", c.Duration, MaxDuration, false},
		{"PartitionFor", c.PartitionFor, MaxDuration, false}, {"Sample", c.Sample, MaxDuration, false},
	}
	for _, d := range durations {
		switch {
		case d.positive && (d.d <= 0 || d.d > d.max):
			return bad(d.field, d.d, fmt.Sprintf("more than 0, at most %v", d.max))
		case d.d < 0 || d.d > d.max:
			return bad(d.field, d.d, fmt.Sprintf("0..%v", d.max))
		}
	}
	if err := c.validateScenario(); err != nil {
		return err
	}
	return c.nodeConfig().Validate()
}

// validateScenario checks the fields of the scenario that depend on each other.
func (c Config) validateScenario() error {
	bad := func(field string, value any, want string) error {
		return &ConfigError{Field: field, Value: value, Want: want}
	}
	if c.Partition > 0 {
		split := int(c.Partition * float64(c.Nodes-c.killed()))
		switch {
		case split < 1 || split > c.Nodes-c.killed()-1:
			return bad("Partition", c.Partition, fmt.Sprintf("a fraction that splits at least one of the %d live nodes off and leaves one", c.Nodes-c.killed()))
		case c.PartitionFor <= 0:
			return bad("PartitionFor", c.PartitionFor, "more than 0 with a partition")
		case c.Duration > 0 && c.PartitionFor > c.Duration:
			return bad("PartitionFor", c.PartitionFor, fmt.Sprintf("at most the duration, %v", c.Duration))
		}
	}
	if !(c.ChurnShape > 0 && c.ChurnShape <= 10) {
		return bad("ChurnShape", c.ChurnShape, "more than 0, at most 10")
	}
	if c.ChurnMedian > 0 {
		if c.Duration <= 0 {
			return bad("Duration", c.Duration, "more than 0 with churn: the length of the churn scenario")
		}
		if _, err := c.schedule(); err != nil {
			return bad("ChurnMedian", c.ChurnMedian, fmt.Sprintf("sessions long enough for at most %d departures in %v", MaxDepartures, c.Duration))
		}
	}
	if l := c.scenarioLength(); l > 0 {
		if c.Sample <= 0 || l/c.Sample > MaxSamples {
			return bad("Sample", c.Sample, fmt.Sprintf("at least %v (%d samples of %v at most)", l/MaxSamples+1, MaxSamples, l))
		}
		if c.Sample > l {
			return bad("Sample", c.Sample, fmt.Sprintf("at most the scenario's length, %v", l))
		}
	}
	return nil
}

// adversaries is how many of the nodes are adversaries.
func (c Config) adversaries() int { return int(math.Round(c.Adversarial * float64(c.Nodes))) }

// killed is how many nodes the scenario kills at once.
func (c Config) killed() int { return int(c.Kill * float64(c.Nodes)) }

// scenarioLength is the scenario's simulated length: the longest of Duration and
// Maintain scaled, or with neither, twice PartitionFor, so that the timeline shows the
// network partitioned and then healed for as long.
func (c Config) scenarioLength() time.Duration {
	l := max(c.Duration, time.Duration(float64(c.Maintain)*max(c.TimeScale, 1)))
	if l == 0 && c.Partition > 0 {
		l = 2 * c.PartitionFor
	}
	return l
}

// schedule draws the churn of the scenario: nil without churn.
func (c Config) schedule() ([]churn.Event, error) {
	if c.ChurnMedian <= 0 {
		return nil, nil
	}
	return churn.Schedule(churn.Options{
		Seed: c.Seed ^ 0x9e3779b97f4a7c15, Slots: c.Nodes - c.killed(), Duration: c.Duration,
		MedianSession: c.ChurnMedian, Shape: c.ChurnShape, MaxEvents: MaxDepartures,
	})
}

// recordTTL is the records' life, simulated. The values are stored once, at the
// start, by nodes that may leave during the scenario and so stop republishing them
// (paper §2.5): a scenario as long as a record's life would measure its end rather than
// the network. So the life is at least twice the scenario's length, which leaves the
// gets and lookups after it time to run.
func (c Config) recordTTL() time.Duration {
	return max(protocol.TExpire, 2*c.scenarioLength())
}

// nodeConfig is every node's configuration, its maintenance intervals scaled.
func (c Config) nodeConfig() node.Config {
	scale := func(d time.Duration) time.Duration {
		return max(time.Duration(float64(d)/c.TimeScale), time.Millisecond)
	}
	cfg := node.Config{
		K:                 c.K,
		Alpha:             c.Alpha,
		DisjointPaths:     c.DisjointPaths,
		Reachability:      c.Reachability,
		RPCTimeout:        c.RPCTimeout,
		RecordTTL:         scale(c.recordTTL()),
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
