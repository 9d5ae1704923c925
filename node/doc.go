// Package node is a Kademlia peer (Maymounkov & Mazières, 2002): the handlers of the four
// RPCs, the iterative lookup engine, the records it keeps and their maintenance, over a
// routing table (package routing) and a record store (package store). It runs over any
// transports.Transport and imports none of the concrete ones, so the same code serves
// UDP, QUIC and the in-memory network.
//
//	tr, err := udp.Listen("127.0.0.1:0", udp.Options{})
//	...
//	n, err := node.New(node.Config{}, tr) // k = 20, α = 3
//	...
//	defer n.Close()
//	err = n.Bootstrap(ctx, seed)
//	stored, err := n.Put(ctx, protocol.KeyFromString("greeting"), []byte("hello"))
//	value, err := n.Get(ctx, protocol.KeyFromString("greeting"))
//
// The files follow the concerns: node.go (New, Close, accessors), handler.go (answering
// requests), rpc.go (sending them, and the one place an exchange's outcome reaches the
// routing table), lookup.go (the lookup engine, written against a query function so that
// its rules are tested without a network), records.go (Put, Get, the local store and its
// quota, expiry), maintenance.go (joining, liveness checks, bucket refresh, replication,
// republishing), config.go, stats.go (the counters, by request type and outcome),
// inspect.go (a copy of the k-buckets, for status pages), ratelimit.go, rtt.go (the
// adaptive timeouts), suspects.go (the contacts a lookup passes over).
//
// Dead contacts cost a lookup as little as the protocol allows. A request unanswered for
// its straggler delay (about a round trip to its contact) no longer counts against α; for
// twice that it also yields its place among the k closest, so the next candidate is asked
// beside it; it fails at its timeout. A contact whose last request failed is a suspect
// until it is heard from again, and later lookups ask it only if the others do not fill
// their k answers. A lookup's requests outlive it by up to RPCTimeout, so that a slow
// host's late answer still clears it.
//
// A Node owns its transport and closes it in Close; it never closes a Store it was given.
package node
