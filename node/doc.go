// Package node is a Kademlia peer (Maymounkov & Mazières, 2002): a routing table of
// k-buckets, a record store, the handlers of the four RPCs and the iterative lookup
// engine. It runs over any transports.Transport and imports none of the concrete ones, so
// the same code serves UDP, QUIC and the in-memory network.
//
//	tr, err := udp.Listen("127.0.0.1:0", udp.Options{})
//	...
//	n, err := node.New(node.Config{}, tr) // k = 20, α = 3
//	...
//	defer n.Close()
//	err = n.Bootstrap(ctx, seed)
//	stored, err := n.Put(ctx, protocol.KeyFromString("greeting"), []byte("hello"))
//	value, err := n.Get(ctx, protocol.KeyFromString("greeting"))
package node
