// Package quic is the kad transport over QUIC (RFC 9000) with TLS 1.3, built on
// quic-go. One UDP socket serves both directions, so the address a peer sees when this
// node dials is the one it listens on.
//
//	key := ed25519.NewKeyFromSeed(seed)
//	tr, err := quic.Listen("127.0.0.1:4000", key, quic.Options{})
//	...
//	tr.Serve(handler)
//	resp, peer, err := tr.Call(ctx, protocol.Contact{ID: id, Addr: addr}, req)
//
// # Identity
//
// Each node presents a self-signed X.509 certificate carrying its Ed25519 public key,
// signed with that key (signature algorithm Ed25519), whose subject common name is the
// node ID it goes by, as 40 hexadecimal characters. Both ends require a certificate and
// refuse one that is not exactly one certificate, whose key is not Ed25519, whose
// self-signature does not verify, or whose common name is neither empty nor an ID.
// CA chains, host names and validity dates are not checked: the key is the identity,
// and the TLS 1.3 handshake proves the peer holds it. Other TLS parameters: TLS 1.3
// only, ALPN "kad/1" (see Networks), key exchange X25519, session resumption (see
// Connections).
//
// From a checked certificate a node learns two IDs: the derived ID,
// SHA-256(public key)[:20], which the handshake proves, and the claimed ID, the common
// name (the derived ID when the common name is empty). A node started under a chosen
// ID (Options.ClaimedID) claims it while its key proves another. The rule:
//
//   - Peer.ID is the claimed ID; Peer.Verified is true exactly when the claimed ID is
//     the derived one. Handlers see the caller this way.
//   - Call with a non-zero to.ID succeeds when to.ID is the derived ID (then Peer.ID
//     is to.ID and Peer.Verified true) or the claimed ID (Peer.ID is to.ID, verified
//     only if it is also the derived one), and otherwise fails with
//     transports.ErrIDMismatch ("got CLAIMED, want TO.ID") before the request is sent.
//     So a node running under a chosen ID stays reachable under it, reported as
//     unverified, while a peer that proves an ID other than the expected one is refused.
//   - The node layer compares the sender ID inside each message with Peer.ID, and
//     treats a message whose sender ID differs, or whose Peer is not Verified, as coming
//     from an unverified ID.
//
// LocalID returns the derived ID, whatever the ClaimedID.
//
// # Networks
//
// A transport belongs to one network (Options.Network) and offers only its ALPN:
// "kad/1" on the public network, "kad/1/NAME" on the network NAME. Nodes of different
// networks share no application protocol, so the listening side fails the handshake
// with the TLS alert no_application_protocol and no connection forms: the caller's Call
// fails with transports.ErrWrongNetwork, no handler runs, and the listening side counts
// the refusal in Stats.WrongNetwork. The ALPN keeps out mistakes, not strangers: anyone
// who knows the name can offer it. Keeping strangers out takes verified IDs
// (node.Config.RequireVerifiedIDs) and a list of the keys admitted, which kad does not
// have yet.
//
// # Streams
//
// A connection is kept per peer address, whichever side dialed it, and carries any
// number of requests in both directions, one bidirectional stream each. The caller
// opens a stream, writes the request message (at most protocol.MaxMessageSize bytes,
// no header) and closes its send side (FIN). The responder reads to FIN, then writes
// one response frame and closes its send side:
//
//	status (1 byte) || body
//
//	status 0x00  OK      body is the response message, at most MaxMessageSize bytes
//	                     (possibly empty)
//	status 0x01  error   body is the handler's error, UTF-8, at most MaxErrorText (256)
//	                     bytes; the caller's Call fails with transports.ErrRemote
//
// Other status bytes, an empty stream, or a body over its limit are malformed.
//
// # Datagrams
//
// A request that fits in one packet goes as a QUIC DATAGRAM frame (RFC 9221) when both
// ends support them (Options.NoDatagrams turns them off), and so does its response:
// one packet each way, no stream, no goroutine per request on the caller's side. The
// payload is a kind byte, the caller's 4-byte request ID (big-endian), and a body:
//
//	0x00  request      the request message
//	0x01  OK           the response message
//	0x02  error        the handler's error text (transports.ErrRemote)
//	0x03  use stream   none: the response does not fit, the caller asks on a stream
//	0x04  not serving  none
//
// QUIC does not retransmit datagrams, so the caller sends a request again, under the
// same ID, after the connection's retransmission timeout (SRTT + 4·RTTVAR, at least
// 20 ms), twice at most, doubling the wait; the responder drops a copy of a request it
// is still answering. A malformed datagram, a response no call waits for, and a request
// beyond MaxStreamsPerConn in progress on its connection are dropped and counted in
// Stats.DatagramsDropped. On this loopback a datagram round trip takes 37-45 µs
// against 58-108 µs on a stream; in a 50-node cluster the median put takes 4.3 ms with
// datagrams and 5.3 ms without, and 8 callers get 3,400 values a second against 1,900
// (BENCHMARKS.md, QUIC datagrams).
//
// A responder refuses a stream by resetting both directions (RESET_STREAM and
// STOP_SENDING) with an application error code:
//
//	0x1  canceled     the request did not arrive whole in time, or the caller gave up
//	                  (a caller abandoning a call uses this code too)
//	0x2  not serving  the node does not answer requests (yet)
//	0x3  too large    the request exceeds MaxMessageSize
//
// A responder allows Options.MaxStreamsPerConn (default 256) concurrent streams per
// connection and gives a request 10 s to arrive and its response to be sent.
// CONNECTION_CLOSE carries application code 0x0 on shutdown, 0x1 when a connection
// is closed to stay within Options.MaxConns, and 0x2 when it closes unused (see
// Connections).
//
// # Connections
//
// Concurrent calls to an address not yet connected share one handshake. A connection
// costs each end about 35 KiB and three goroutines inside quic-go, so it is kept only
// where it pays (Options.Linger): it closes, with application code 0x2, once unused
// for its linger, 2 s at first. A peer called again within 2·MaxLinger of its last
// connection's last use gets twice that gap as the new linger, at most MaxLinger
// (10 s): one called every few seconds keeps its connection, one called once (the
// strangers of other nodes' lookups) holds nothing 2 s later. An accepted connection
// lingers 2 s more than the dialer's would, so that the side that knows its own use
// normally closes first; a peer that still calls finds the connection closed and
// redials once, as it does after any lost connection. Connections also close after
// Options.IdleTimeout without packets (both ends use the smaller value), and the least
// recently used one closes when Options.MaxConns would be exceeded. The memo of when
// an ended connection was last used, which sets the next linger, is forgotten after
// 2·MaxLinger, and its map made anew once it has emptied, so that an idle node does not
// keep the room of its busiest moment; so are the maps of the open connections, of the
// dials under way and of the connections per source (an idle node in a 200-node kad
// bench cluster: 290 KiB of heap against 302 KiB, medians of 3 runs). The stateless
// reset key is derived from the node key, so a node that restarts with the same key
// makes its peers' old connections fail at once rather than at their idle timeout.
//
// Reconnects resume TLS sessions: the listening side issues a ticket on each
// connection, and the dialing side keeps one per peer address (Options.SessionCache,
// 512 by default, about 250 bytes each), offered only to that address. It keeps it
// only for the peers Options.Keep keeps (a node's routing table): a stranger's ticket
// goes when its connection ends, since a node seldom calls the same stranger again, and
// a cache full of them would hold 128 KiB a node. In a 200-node kad bench cluster, where
// every node does call nearly every other, this and the forgotten memos (above) took
// the idle node from 335 to 316 KiB of heap, and the sequential operations
// 10-14 % longer in one pair of runs (within this machine's noise). A resumed
// handshake sends no certificates and makes no signatures; the identities are those
// the full handshake that issued the ticket proved, and only the holder of that
// session's secret can resume it, so a peer's identity stays proven. A different node
// now at the address cannot read the ticket, and the handshake becomes a full one
// under its own key. No 0-RTT: early data is replayable, and a kad request is not
// always harmless twice (a STORE refreshes a record's age), while loopback figures
// show the key exchange, not the round trip, is what a reconnect costs.
//
// What it trades, measured with kad bench (BENCHMARKS.md): an idle 50-node cluster
// held 1.6 MiB of heap and 151 goroutines per node with every connection kept 30 s,
// and 287 KiB and 7 goroutines per node 13 s after the last join (about 100 KiB of it
// is quic-go's listener, 1,024 queued-packet slots). A node that calls a peer it has
// let go pays a new handshake, resumed: BenchmarkHandshake's resumed case is 10-25 %
// cheaper than a full one, since quic-go's own connection setup costs as much as the
// cryptography. In a 200-node cluster where every node calls every other about every
// 20 s, which no linger here keeps, sequential gets took 4.6 ms at the median against
// 1.9 ms with every connection kept (and 3.8 MiB and 367 goroutines per node).
//
// # Floods
//
// A handshake costs the listening side a signature and a key exchange, and an open
// connection its memory, so incoming connections are bounded per source before the
// handshake starts: at most Options.MaxConnsPerIP (8) connections, handshaking or open,
// and Options.MaxHandshakesPerIP (4) handshakes in progress from one IP address, and
// MaxConnsPerSubnet (32) and MaxHandshakesPerSubnet (16) from one /24 (IPv4) or /64
// (IPv6). Loopback, private and link-local addresses (routing.AddrRule, the rule of the
// routing table's subnet limits and of the node's rate limit) count per IP and port
// instead, against no subnet: many nodes share one such IP in a test cluster or a LAN.
// Options.SubnetLimitsEverywhere counts them like public ones. The check runs in
// quic-go's Transport.ConnContext, called for the first Initial packet of an attempt before
// quic-go builds any state for it; an attempt over a limit gets CONNECTION_REFUSED and
// costs nothing more. The context returned there ends with the connection, which gives
// its slot back. Refusals are counted by reason in Stats (one per refused Initial
// packet: a client whose ClientHello spans two packets, or that resends it, is counted
// again).
//
// While new handshakes arrive faster than Options.RetryAbove (100) a second, counted
// over the last second, quic-go's Transport.VerifySourceAddress asks each client for a
// Retry: it must come back with a token sent to its source address, so a forged address
// cannot make the node do handshake work. A source address is unproven until a token or
// a completed handshake proves it, so an unproven attempt from a source at a limit is
// asked for a Retry too rather than refused, and unproven handshakes count against the
// connection limits but not against a proven attempt's handshake limit: forged attempts
// in a real peer's name hold at most MaxHandshakesPerIP of its MaxConnsPerIP places, and
// only until the handshake timeout. Stats.Retries counts the Retries asked.
//
// Options.MaxConns caps the connections. The one closed to make room is, in order, an
// incoming connection from a peer that Options.Keep does not keep, one this node dialed
// to such a peer, and, only for a kept peer's connection or a dial, a kept peer's; within
// a rank, one with no call in flight and the least recently used. Keep is asked about
// the ID the peer's key proves, so a peer cannot borrow a kept ID it only claims. An
// incoming connection from a peer not kept, when only kept peers' connections could
// make room, is closed and counted in Stats.RefusedFull. A node passes "is this ID in my
// routing table" as Keep, or to SetKeep once its table exists.
package quic
