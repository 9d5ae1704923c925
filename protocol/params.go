package protocol

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
