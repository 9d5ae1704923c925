package node

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"kad/protocol"
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
	// RPCTimeout bounds one request/response exchange. Default 1s.
	RPCTimeout time.Duration
	// StragglerDelay is how long a lookup waits on a silent request before sending another
	// in its place; the silent one may still answer. Default 150ms.
	StragglerDelay time.Duration
	// Store keeps the records this node is responsible for. Default: an in-memory store.
	Store Store
	// RecordTTL is how long a record lives unless re-stored (tExpire). Default 24h.
	RecordTTL time.Duration
	// MaxStoreBytes caps the total size of the values the node keeps for others; a STORE
	// of a new record that would pass it is refused (ERROR code 3), so no sender can
	// exhaust the node's memory. Default 64 MiB.
	MaxStoreBytes int64
	// ExpireInterval is how often expired records are removed from the store. Default 1 min.
	ExpireInterval time.Duration
	// RefreshInterval is tRefresh: a bucket that saw no lookup for this long is refreshed
	// with a lookup of a random ID in it (paper §2.3). Default 1h.
	RefreshInterval time.Duration
	// ReplicateInterval is tReplicate: a node re-stores, at the k closest nodes it finds,
	// each record it holds as one of those k that it did not itself receive within this
	// time (paper §2.5). Default 1h.
	ReplicateInterval time.Duration
	// RepublishInterval is tRepublish: the node puts again every record it published
	// with Put, renewing its life (paper §2.5). Default 24h.
	RepublishInterval time.Duration
	// MaxPerSubnetBucket and MaxPerSubnetTable cap the contacts of one k-bucket and of
	// the routing table that may share a public /24 (IPv4) or /64 (IPv6), so that one
	// host or network cannot fill the table. Loopback, private and link-local addresses
	// are exempt. Defaults 2 and 10; negative means no limit.
	MaxPerSubnetBucket, MaxPerSubnetTable int
	// RequestRate is how many requests a second one sender may have handled, with bursts
	// of RequestBurst; more are refused with ERROR code 3. A sender is a public IP, or an
	// IP and port for loopback and private addresses. Defaults 1000 and 2000; a negative
	// rate means no limit.
	RequestRate  float64
	RequestBurst int
	// RequireVerifiedIDs makes the node refuse requests from peers whose ID the transport
	// did not prove.
	RequireVerifiedIDs bool
	// ClientOnly marks the node as not answering requests: peers keep it out of their
	// routing tables.
	ClientOnly bool
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
	if c.K == 0 {
		c.K = protocol.K
	}
	if c.Alpha == 0 {
		c.Alpha = protocol.Alpha
	}
	if c.RPCTimeout == 0 {
		c.RPCTimeout = time.Second
	}
	if c.StragglerDelay == 0 {
		c.StragglerDelay = 150 * time.Millisecond
	}
	if c.RecordTTL == 0 {
		c.RecordTTL = 24 * time.Hour
	}
	if c.MaxPerSubnetBucket == 0 {
		c.MaxPerSubnetBucket = DefaultMaxPerSubnetBucket
	}
	if c.MaxPerSubnetTable == 0 {
		c.MaxPerSubnetTable = DefaultMaxPerSubnetTable
	}
	if c.RequestRate == 0 {
		c.RequestRate = 1000
	}
	if c.RequestBurst == 0 {
		c.RequestBurst = 2 * max(int(c.RequestRate), 1)
	}
	if c.MaxStoreBytes == 0 {
		c.MaxStoreBytes = 64 << 20
	}
	if c.ExpireInterval == 0 {
		c.ExpireInterval = time.Minute
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = time.Hour
	}
	if c.ReplicateInterval == 0 {
		c.ReplicateInterval = time.Hour
	}
	if c.RepublishInterval == 0 {
		c.RepublishInterval = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.K < 1 || c.K > protocol.MaxContacts:
		return fmt.Errorf("config: k = %d, want 1..%d", c.K, protocol.MaxContacts)
	case c.Alpha < 1 || c.Alpha > c.K:
		return fmt.Errorf("config: alpha = %d, want 1..k (%d)", c.Alpha, c.K)
	case c.RPCTimeout < 0 || c.StragglerDelay < 0 || c.RecordTTL < 0 || c.ExpireInterval < 0 ||
		c.RefreshInterval < 0 || c.ReplicateInterval < 0 || c.RepublishInterval < 0:
		return fmt.Errorf("config: negative duration")
	case c.MaxStoreBytes < protocol.MaxValueSize:
		return fmt.Errorf("config: MaxStoreBytes = %d, want at least one value (%d)", c.MaxStoreBytes, protocol.MaxValueSize)
	}
	return nil
}
