package protocol

import "time"

// Wire limits, specified in PROTOCOL.md. A message must fit in one UDP datagram.
const (
	// MaxMessageSize is the largest encoded message any transport carries.
	MaxMessageSize = 65000
	// MaxValueSize is the largest value a STORE may carry, leaving room for the envelope.
	MaxValueSize = 64000
	// MaxContacts is the most contacts a NODES reply may carry.
	MaxContacts = 64
	// MaxErrorText is the longest error text an ERROR reply may carry, in bytes.
	MaxErrorText = 256
	// MaxTokenSize is the longest address-validation token a message may carry.
	MaxTokenSize = 16
	// MaxNonceSize is the longest dial-back nonce a PING may carry.
	MaxNonceSize = 16
)

// The paper's system-wide parameters (§2.3, §4). Each is a default; node.Config can
// change it.
const (
	// K is the bucket size and replication factor: "k is chosen such that any given k
	// nodes are very unlikely to fail within an hour of each other" (§2.2); the paper uses 20.
	K = 20
	// Alpha is the number of lookup requests in flight (§2.3); the paper uses 3.
	Alpha = 3
)

// The paper's timing parameters (§2.5), named as in the XLattice Kademlia specification.
// Each is a default; node.Config can change it.
const (
	// TExpire is how long a record lives unless stored again: "the original publisher of a
	// (key,value) pair [must] republish it every 24 hours. Otherwise, (key,value) pairs
	// expire 24 hours after publication" (§2.5).
	TExpire = 24 * time.Hour
	// TRefresh is how long a bucket may go without a lookup before it is refreshed with a
	// lookup of a random ID in its range (§2.3: "in the range of any bucket to which the
	// node has not performed a node lookup in an hour").
	TRefresh = time.Hour
	// TReplicate is how often a node stores again the records it holds, to keep k copies
	// as nodes come and go (§2.5: "each node republishes (key,value) pairs ... every hour").
	TReplicate = time.Hour
	// TRepublish is how often the original publisher stores its records again (§2.5).
	TRepublish = 24 * time.Hour
)
