// Package mem is an in-memory network for kad's tests and simulations: no sockets, just
// channels, with configurable latency, jitter, loss and partitions, all drawn from a
// seeded random source so that a run can be repeated.
//
//	network, err := mem.NewNetwork(mem.Options{Latency: 5 * time.Millisecond, Seed: 1})
//	a, err := network.NewTransport() // 10.0.0.1:4000
//	b, err := network.Listen(netip.MustParseAddrPort("127.0.0.1:4000"))
//	b.Serve(handler)
//	resp, peer, err := a.Call(ctx, protocol.Contact{Addr: b.LocalAddr()}, req)
//	network.Disconnect(a.LocalAddr(), b.LocalAddr()) // calls between them now time out
//	network.Heal()
//
// Messages are copied when sent, so neither side aliases the other's buffers. A call to an
// address nobody listens at fails at once with transports.ErrUnreachable; a lost message,
// or one a partition cuts, vanishes silently and the call ends with its context, as on a
// real network. Requests are handled concurrently, up to Options.MaxConcurrent per
// transport; more are dropped.
//
// For a network that looks like the internet, Options.Model decides each message's delay
// and loss from the two hosts it travels between (package internet places hosts on a
// map), and SetNAT puts a host behind a port-restricted NAT, which lets a request through
// only from an address the host sent to recently.
//
// A transport costs a few hundred bytes and no goroutine while idle, so thousands fit in
// one process. Everything blocks on channels or timers, never on a socket or a long-held
// mutex, so a Network works inside a testing/synctest bubble, where latency and timeouts
// run in virtual time. Create the Network and its transports inside the bubble.
package mem
