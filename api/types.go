package api

import (
	"net/netip"

	"kad/protocol"
)

// The JSON bodies of the routes' answers. IDs are 40 hexadecimal characters, addresses
// IP:PORT.

// Status is the answer of GET /v1/status.
type Status struct {
	ID        protocol.ID    `json:"id"`
	Transport string         `json:"transport"`
	Addr      netip.AddrPort `json:"addr"`
	// Verified reports whether the transport proves the node's ID to its peers.
	Verified bool `json:"verified"`
	// Reachability is what the node's checks found: "public" (strangers reach it),
	// "private" (they do not: it runs as a client) or "unknown" (not checked, or the
	// checks said nothing). Serving is false while the node runs as a client.
	Reachability string  `json:"reachability"`
	Serving      bool    `json:"serving"`
	UptimeS      float64 `json:"uptime_s"`
	// Contacts is how many contacts the routing table holds, Buckets how they spread
	// over its non-empty k-buckets.
	Contacts    int            `json:"contacts"`
	Buckets     []BucketStatus `json:"buckets"`
	Records     int            `json:"records"`
	RecordBytes int64          `json:"record_bytes"`
	Stats       Counters       `json:"stats"`
	// TransportCounters are what the transport counts (transports.Counting), by name;
	// absent when it counts nothing.
	TransportCounters map[string]float64 `json:"transport_counters,omitempty"`
}

// BucketStatus is one non-empty k-bucket: its index (the length of the prefix its
// contacts share with the node's ID), how many contacts it holds, and how many wait in
// its replacement cache.
type BucketStatus struct {
	Index        int `json:"index"`
	Contacts     int `json:"contacts"`
	Replacements int `json:"replacements"`
}

// Counters are the node's counters since it started (node.Stats).
type Counters struct {
	RequestsSent    uint64 `json:"requests_sent"`
	RequestsFailed  uint64 `json:"requests_failed"`
	RequestsHandled uint64 `json:"requests_handled"`
	RequestsRefused uint64 `json:"requests_refused"`
	Lookups         uint64 `json:"lookups"`
	LookupRequests  uint64 `json:"lookup_requests"`
	LookupRounds    uint64 `json:"lookup_rounds"`
	ValuesFound     uint64 `json:"values_found"`
	// Sent counts the requests sent, by type (PING, STORE, FIND_NODE, FIND_VALUE) and
	// outcome (node.SentOutcome: ok, error, timeout, canceled, failed).
	Sent map[string]map[string]uint64 `json:"sent"`
	// Received counts the requests answered, by type (those four, and "unknown" for
	// requests that named none) and outcome (node.ReceivedOutcome: answered,
	// rate_limited, store_full, too_large, malformed, identity, internal).
	Received map[string]map[string]uint64 `json:"received"`
}

// Peers is the answer of GET /v1/peers.
type Peers struct {
	Count int    `json:"count"`
	Peers []Peer `json:"peers"`
}

// Peer is one contact of the routing table and the index of its k-bucket.
type Peer struct {
	ID     protocol.ID    `json:"id"`
	Addr   netip.AddrPort `json:"addr"`
	Bucket int            `json:"bucket"`
}

// Stored is the answer of PUT /v1/values/{key}: the key and how many nodes stored the
// value.
type Stored struct {
	Key      protocol.ID `json:"key"`
	Replicas int         `json:"replicas"`
}

// Lookup is the answer of GET /v1/lookup/{key}: the k nodes closest to the key that
// answered, closest first.
type Lookup struct {
	Key      protocol.ID `json:"key"`
	Contacts []Contact   `json:"contacts"`
	TookMS   float64     `json:"took_ms"`
}

// Contact is a node's ID and address.
type Contact struct {
	ID   protocol.ID    `json:"id"`
	Addr netip.AddrPort `json:"addr"`
}

// PingRequest is the body of POST /v1/ping: the node to ping, as ID@IP:PORT (the
// answer must come from that ID) or IP:PORT.
type PingRequest struct {
	Addr string `json:"addr"`
}

// Pong is the answer of POST /v1/ping: who answered, and the round trip.
type Pong struct {
	ID    protocol.ID    `json:"id"`
	Addr  netip.AddrPort `json:"addr"`
	RTTMS float64        `json:"rtt_ms"`
}
