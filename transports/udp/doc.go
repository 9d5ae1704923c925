// Package udp is kad's UDP transport: each request and each response is one datagram on
// a single socket, which both serves incoming requests and sends outgoing calls.
//
//	tr, err := udp.Listen("127.0.0.1:4000", udp.Options{Logger: logger})
//	if err != nil {
//		return err
//	}
//	defer tr.Close()
//	tr.Serve(handler)
//	resp, peer, err := tr.Call(ctx, protocol.Contact{Addr: addr}, req)
//
// A datagram is a 9-byte header — version and kind in one byte, then an 8-byte tag —
// followed by the payload; wire.go and PROTOCOL.md give the details. A caller draws the
// tag at random (ChaCha8 seeded from crypto/rand) and accepts a response only if it
// carries that tag and comes from the very address it called, so an off-path sender
// cannot slip in a reply. Nothing is resent: a lost datagram shows as the end of the
// call's context, and retrying is the caller's choice.
//
// A transport of a named network (Options.Network) frames its datagrams with version 2
// instead, a 4-byte network tag after the tag, and drops every datagram that does not
// carry its own network's mark, without a reply, counting it in Stats.WrongNetwork; so
// nodes of different networks never see each other, and a call to one shows as the end
// of its context. The network tag guards against mistakes, not strangers: anyone who
// knows the name can compute it.
//
// Incoming requests go through a bounded queue to a fixed pool of worker goroutines
// (Options.Workers, Options.QueueLen); a request that finds the queue full is dropped and
// counted in Stats, as the socket's own buffer would drop it. A handler's error goes back
// as an error response whose text is cut to protocol.MaxErrorText bytes; the caller's
// Call then fails with an error wrapping transports.ErrRemote.
//
// Messages over protocol.MaxMessageSize are refused before sending. Datagrams near that
// size rely on IP fragmentation, which works on loopback and most LANs but may be lost on
// paths that drop fragments; kad's messages are usually far smaller.
package udp
