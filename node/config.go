package node

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"time"

	"kad/protocol"
	"kad/routing"
	"kad/store"
)

// Config sets up a Node. Zero values mean "the default"; DefaultConfig returns them filled in.
type Config struct {
	// ID is the node's ID. Zero means: derived from the transport's verified identity if it
	// has one, else random.
	ID protocol.ID
	// K is the bucket size and replication factor (paper §2.2). Default 20.
	K int
	// Alpha is the number of requests in flight per lookup (paper §2.3). Default 3.
	Alpha int
	// RPCTimeout bounds one request/response exchange. Default 1s. The requests of
	// lookups and puts time out sooner, after about two round trips to their contact as
	// the node has measured them (rtt.go), but not before a quarter of RPCTimeout or
	// 250 ms, whichever is longer.
	RPCTimeout time.Duration
	// DisjointPaths, when 2 or more, runs every lookup of the node (Lookup, Get, Put and
	// maintenance alike) over that many disjoint paths, as S/Kademlia does (Baumgart &
	// Mies 2007, §4.4; rust-libp2p's disjoint_query_paths): the K closest contacts of the
	// routing table are dealt to the paths in turn, each path runs its own iterative
	// lookup with Alpha requests in flight, and a contact one path has seen is never
	// asked by another. A value lookup ends when any path finds the value; a node lookup
	// when every path has heard from its own K closest, with the K closest that answered
	// on any path.
	//
	// What it buys: a node that answers with its accomplices only, who claim to be
	// closest to every key, captures a single lookup as soon as it is asked; over
	// disjoint paths it captures only the path that asked it, and the lookup fails only
	// if every path meets such a node. What it costs: a node lookup sends up to
	// DisjointPaths times the RPCs of a single one, with up to DisjointPaths×Alpha in
	// flight; a value lookup, which ends at the first value, less. Default 0: one path,
	// the paper's lookup (1 means the same). At most K.
	DisjointPaths int
	// StragglerDelay is how long a lookup waits on a silent request before sending another
	// in its place; the silent one may still answer. Default 150ms. It is the longest
	// such wait: once the node has timed its contacts, it waits about a round trip.
	StragglerDelay time.Duration
	// Store keeps the records this node is responsible for. Default: an in-memory store.
	// The node never closes it: whoever made it closes it after the node's Close.
	Store store.Store
	// Published keeps the records this node published with Put, which it republishes
	// every RepublishInterval for as long as it runs: in a store that outlives the
	// process, they go on being republished after a restart. Their Expires is zero.
	// Default: an in-memory store. The node never closes it.
	Published store.Store
	// RecordTTL is tExpire: how long a record lives unless stored again (paper §2.5), and
	// the longest a STORE may ask for. Default protocol.TExpire, 24h.
	RecordTTL time.Duration
	// MaxStoreBytes caps the total size of the values the node keeps for others; a STORE
	// of a new record that would pass it is refused (ERROR code 3), so no sender can
	// exhaust the node's memory. Default 64 MiB.
	MaxStoreBytes int64
	// MaxRecordsPerSender and MaxBytesPerSender cap the records, and the total size of
	// their values, that one sender may hold in the store; a STORE past either is refused
	// (ERROR code 3, counted as ReceivedSenderQuota) and nothing held is dropped for it.
	// A sender is a public IP, or an IP and port for loopback and private addresses, as
	// for RequestRate. A record is charged to the sender whose STORE created or grew it;
	// a STORE that replaces it at the same size or smaller (replication, republishing)
	// leaves the charge where it was and is never refused by these quotas. The node's own
	// records, and those a persistent Store held when the node started, are charged to no
	// one (they still count against MaxStoreBytes).
	//
	// The defaults, 10,000 records and 8 MiB, do not refuse honest traffic in a network
	// of N nodes holding R records, where each node holds about H = R·K/N of them: the
	// STOREs that create records at a node come from each record's publisher, who puts
	// at most MaxPublished (10,000) records and so at most that many on any node, and
	// from the holders that hand records to a newcomer or replicate them to a node that
	// lacks them, who spread H over the node's neighbours but may, at worst, be one
	// neighbour giving all of H. So the defaults hold for H up to 10,000 records of 800
	// bytes on average (an eighth of the default MaxStoreBytes); a network whose nodes
	// hold more should raise them. Negative means no limit.
	MaxRecordsPerSender int
	MaxBytesPerSender   int64
	// MaxPublished caps the records this node publishes (Published); Put of a new key
	// past it fails with ErrPublishedFull before sending anything. Default 10,000;
	// negative means no limit.
	MaxPublished int
	// SweepInterval is how often the store is swept of expired records; an expired record
	// is never served, swept or not. It is not tExpire (RecordTTL). Default 1 min.
	SweepInterval time.Duration
	// RefreshInterval is tRefresh: a bucket that saw no lookup for this long is refreshed
	// with a lookup of a random ID in it (paper §2.3). Default protocol.TRefresh, 1h.
	RefreshInterval time.Duration
	// ReplicateInterval is tReplicate: a node re-stores, at the k closest nodes it finds,
	// each record it holds as one of those k that it did not itself receive within this
	// time (paper §2.5). Default protocol.TReplicate, 1h.
	ReplicateInterval time.Duration
	// RepublishInterval is tRepublish: the node puts again every record it published
	// with Put, renewing its life (paper §2.5). Default protocol.TRepublish, 24h.
	RepublishInterval time.Duration
	// MaxPerSubnetBucket and MaxPerSubnetTable cap the contacts of one k-bucket and of
	// the routing table that may share a public /24 (IPv4) or /64 (IPv6), so that one
	// host or network cannot fill the table. Loopback, private and link-local addresses
	// are exempt unless SubnetLimitsEverywhere is set. Defaults 2 and 10; negative means
	// no limit.
	MaxPerSubnetBucket, MaxPerSubnetTable int
	// RequestRate is how many requests a second one sender may have handled, with bursts
	// of RequestBurst; more are refused with ERROR code 3. A sender is a public IP, or an
	// IP and port for loopback and private addresses (an IP alone for every address with
	// SubnetLimitsEverywhere). Defaults 1000 and 2000; a negative rate means no limit.
	RequestRate  float64
	RequestBurst int
	// SubnetLimitsEverywhere applies the subnet limits, and counts senders for
	// RequestRate and the sender quotas, at loopback, private and link-local addresses
	// as at public ones (routing.AddrRule): for tests of the limits on one machine, or a
	// network whose strangers come from private addresses. Where all nodes share one IP
	// it makes them one sender.
	SubnetLimitsEverywhere bool
	// RequireVerifiedIDs makes the node refuse requests from peers whose ID the transport
	// did not prove.
	RequireVerifiedIDs bool
	// ClientOnly marks the node as not answering requests: peers keep it out of their
	// routing tables. It is Reachability ReachabilityClient.
	ClientOnly bool
	// Reachability says whether the node checks that strangers can reach it, and runs
	// as a client while they cannot (PROTOCOL.md, "Reachability"). Default
	// ReachabilityAuto: it checks after Bootstrap and every ReachabilityInterval, and
	// serves until a check finds it unreachable. ReachabilityPublic never checks.
	Reachability ReachabilityMode
	// ReachabilityInterval is how often a ReachabilityAuto node checks again. Default
	// 10 min.
	ReachabilityInterval time.Duration
	// NATMappingLife is how long a NAT or firewall in front of the node is taken to
	// remember an address the node sent to: a dial-back from such an address proves
	// nothing. Default 5 min, the UDP mapping timeout RFC 4787 (REQ-5) recommends; a
	// NAT whose mappings outlive it may make a check find the node reachable when only
	// those it talked to reach it.
	NATMappingLife time.Duration
	// OnReachability, when set, is called when a check changes what the node knows of
	// its reachability, from the goroutine that ran the check. It must not block.
	OnReachability func(Reachability)
	// OnLookup, when set, is called once after every iterative lookup the node runs —
	// for Lookup, Get, Put and maintenance alike — from the goroutine that ran it. It must
	// not block: it is for metrics and simulations.
	OnLookup func(LookupTrace)
	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger
	// Rand is the source of random IDs (for tests). Default: crypto/rand.
	Rand io.Reader
}

// DefaultConfig returns the defaults every zero field of Config stands for.
func DefaultConfig() Config {
	return Config{}.withDefaults()
}

func (c Config) withDefaults() Config {
	c.K = cmp.Or(c.K, protocol.K)
	c.Alpha = cmp.Or(c.Alpha, protocol.Alpha)
	c.RPCTimeout = cmp.Or(c.RPCTimeout, time.Second)
	c.StragglerDelay = cmp.Or(c.StragglerDelay, 150*time.Millisecond)
	c.RecordTTL = cmp.Or(c.RecordTTL, protocol.TExpire)
	c.MaxPerSubnetBucket = cmp.Or(c.MaxPerSubnetBucket, routing.DefaultMaxPerSubnetBucket)
	c.MaxPerSubnetTable = cmp.Or(c.MaxPerSubnetTable, routing.DefaultMaxPerSubnetTable)
	c.RequestRate = cmp.Or(c.RequestRate, 1000)
	c.RequestBurst = cmp.Or(c.RequestBurst, 2*max(int(c.RequestRate), 1))
	c.MaxStoreBytes = cmp.Or(c.MaxStoreBytes, 64<<20)
	c.MaxRecordsPerSender = cmp.Or(c.MaxRecordsPerSender, 10_000)
	c.MaxBytesPerSender = cmp.Or(c.MaxBytesPerSender, 8<<20)
	c.MaxPublished = cmp.Or(c.MaxPublished, 10_000)
	c.SweepInterval = cmp.Or(c.SweepInterval, time.Minute)
	c.RefreshInterval = cmp.Or(c.RefreshInterval, protocol.TRefresh)
	c.ReplicateInterval = cmp.Or(c.ReplicateInterval, protocol.TReplicate)
	c.RepublishInterval = cmp.Or(c.RepublishInterval, protocol.TRepublish)
	c.ReachabilityInterval = cmp.Or(c.ReachabilityInterval, 10*time.Minute)
	c.NATMappingLife = cmp.Or(c.NATMappingLife, 5*time.Minute)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first field of c, with its defaults filled in, that is out of
// range, as a *ConfigError naming it. New calls it; a program that builds a Config from
// flags calls it to word the error as its flags.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field string, value any, want string) error {
		return &ConfigError{Field: field, Value: value, Want: want}
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"RPCTimeout", c.RPCTimeout}, {"StragglerDelay", c.StragglerDelay}, {"RecordTTL", c.RecordTTL},
		{"SweepInterval", c.SweepInterval}, {"RefreshInterval", c.RefreshInterval},
		{"ReplicateInterval", c.ReplicateInterval}, {"RepublishInterval", c.RepublishInterval},
		{"ReachabilityInterval", c.ReachabilityInterval}, {"NATMappingLife", c.NATMappingLife},
	}
	switch {
	case c.K < 1 || c.K > protocol.MaxContacts:
		return bad("K", c.K, fmt.Sprintf("1..%d", protocol.MaxContacts))
	case c.Alpha < 1 || c.Alpha > c.K:
		return bad("Alpha", c.Alpha, fmt.Sprintf("1..K (%d)", c.K))
	case c.DisjointPaths < 0 || c.DisjointPaths > c.K:
		return bad("DisjointPaths", c.DisjointPaths, fmt.Sprintf("0..K (%d)", c.K))
	case c.Reachability > ReachabilityClient:
		return bad("Reachability", c.Reachability, "auto, public or client")
	case c.MaxStoreBytes < protocol.MaxValueSize:
		return bad("MaxStoreBytes", c.MaxStoreBytes, fmt.Sprintf("at least one value (%d)", protocol.MaxValueSize))
	}
	for _, d := range durations {
		if d.d < 0 {
			return bad(d.name, d.d, "more than 0")
		}
	}
	return nil
}

// ConfigError is the error of Config.Validate: which field is out of range, its value,
// and what it should be.
type ConfigError struct {
	Field string // the Config field, e.g. "Alpha"
	Value any
	Want  string // e.g. "1..K (20)"
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config: %s = %v, want %s", e.Field, e.Value, e.Want)
}
