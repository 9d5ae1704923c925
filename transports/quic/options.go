package quic

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"kad/protocol"
	"kad/transports"
)

// Options tunes a Transport. Zero values mean "the default".
type Options struct {
	// Logger receives the transport's logs. Default: discard.
	Logger *slog.Logger
	// IdleTimeout closes a connection that carried no packets for this long; the next
	// call to that peer dials again. Both ends use the smaller of their two values. A
	// call whose handler stays silent longer fails with the connection, so it must
	// exceed the longest call. Default 30s.
	IdleTimeout time.Duration
	// Linger closes a connection once no stream has used it for this long, so that a
	// peer called once does not hold quic-go's goroutines and buffers for IdleTimeout.
	// A peer called again within 2·MaxLinger of its last connection's last use gets
	// twice that gap, within [Linger, MaxLinger]: a peer called every few seconds keeps
	// its connection. A connection the peer dialed gets Linger more, so that the
	// dialing side, which knows its own use, normally closes first. A new connection to
	// a peer dialed before resumes its TLS session (SessionCache). Default 2s; negative
	// closes connections only at IdleTimeout.
	Linger time.Duration
	// MaxLinger bounds what Linger learns. Default 10s, at most IdleTimeout.
	MaxLinger time.Duration
	// SessionCache is how many peers' TLS session tickets the dialing side keeps, one per
	// peer address, least recently used dropped first. A peer Keep does not keep loses
	// its ticket when its connection ends. Default 512; negative keeps none and makes
	// every connection a full handshake.
	SessionCache int
	// NoDatagrams turns off requests in QUIC datagrams: every request takes a stream.
	// A transport with datagrams still serves streams, and uses them with a peer that
	// has datagrams off.
	NoDatagrams bool
	// MaxConns caps the open connections, dialed and accepted together. When a new one
	// would exceed it, one is closed: an incoming connection from a peer Keep does not
	// know first, then one this node dialed to such a peer, least recently used first
	// and preferring one with no call in flight; a kept peer's connection only for
	// another kept peer's or for a dial. Default 512.
	MaxConns int
	// Keep reports whether the node needs its connection to the peer whose verified ID
	// is id, as a node does for the contacts in its routing table. Such connections are
	// never closed to make room for an incoming connection from a peer it does not keep;
	// that one is refused instead (Stats.RefusedFull). Only the ID the peer's key proves
	// is asked about. Keep is called with the transport's lock held: it must be fast and
	// must not call the transport. Default: no peer is kept.
	Keep func(id protocol.ID) bool
	// MaxConnsPerIP caps the incoming connections, handshaking or open, from one source
	// IP address; MaxConnsPerSubnet caps those from one /24 (IPv4) or /64 (IPv6). A
	// loopback, private or link-local address (routing.Exempt) counts per IP and port
	// instead, and against no subnet, because many nodes share one such IP in a test
	// cluster or a LAN. An attempt over a limit is refused before the handshake starts.
	// Defaults 8 and 32; negative means no limit.
	MaxConnsPerIP, MaxConnsPerSubnet int
	// MaxHandshakesPerIP and MaxHandshakesPerSubnet cap the incoming handshakes in
	// progress the same way. Defaults 4 and 16; negative means no limit.
	MaxHandshakesPerIP, MaxHandshakesPerSubnet int
	// SubnetLimitsEverywhere counts loopback, private and link-local sources like public
	// ones, per IP and per subnet (routing.AddrRule.Everywhere, as
	// node.Config.SubnetLimitsEverywhere), so that tests on 127.0.0.1 can exercise
	// those limits.
	SubnetLimitsEverywhere bool
	// RetryAbove is the rate of new incoming handshakes per second (over the last
	// second) above which a client must first prove its source address with a QUIC
	// Retry (RFC 9000, section 8.1.2), so that forged addresses cost the node no
	// handshake work. Default 100; negative means never.
	RetryAbove int
	// HandshakeTimeout bounds a dial: a peer that does not complete the handshake within
	// it is reported unreachable. Default 5s.
	HandshakeTimeout time.Duration
	// MaxStreamsPerConn is how many requests a peer may have in flight on one connection;
	// more wait on the caller's side. Default 256.
	MaxStreamsPerConn int
	// ClaimedID is the node ID this transport announces in its certificate when the node
	// runs under a chosen ID instead of the one derived from its key. Peers then see it
	// as unverified (Peer.Verified false). Zero means the key-derived ID. See the package
	// documentation for the rule.
	ClaimedID protocol.ID
	// Network names the network the transport belongs to; empty means the public
	// network. It chooses the ALPN (network.go), so a handshake with a node of another
	// network fails: a Call to one fails with transports.ErrWrongNetwork, and a
	// handshake from one is refused and counted in Stats.WrongNetwork. The name must
	// pass transports.CheckNetwork.
	Network string
}

const (
	defaultIdleTimeout      = 30 * time.Second
	defaultLinger           = 2 * time.Second
	defaultMaxLinger        = 10 * time.Second
	defaultSessionCache     = 512
	defaultMaxConns         = 512
	defaultHandshakeTimeout = 5 * time.Second
	defaultMaxStreams       = 256

	defaultMaxConnsPerIP          = 8
	defaultMaxConnsPerSubnet      = 32
	defaultMaxHandshakesPerIP     = 4
	defaultMaxHandshakesPerSubnet = 16
	defaultRetryAbove             = 100
)

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.IdleTimeout = cmp.Or(o.IdleTimeout, defaultIdleTimeout)
	o.MaxConns = cmp.Or(o.MaxConns, defaultMaxConns)
	o.Linger = cmp.Or(o.Linger, defaultLinger)
	o.MaxLinger = cmp.Or(o.MaxLinger, defaultMaxLinger)
	o.SessionCache = cmp.Or(o.SessionCache, defaultSessionCache)
	o.HandshakeTimeout = cmp.Or(o.HandshakeTimeout, defaultHandshakeTimeout)
	o.MaxStreamsPerConn = cmp.Or(o.MaxStreamsPerConn, defaultMaxStreams)
	o.MaxConnsPerIP = cmp.Or(o.MaxConnsPerIP, defaultMaxConnsPerIP)
	o.MaxConnsPerSubnet = cmp.Or(o.MaxConnsPerSubnet, defaultMaxConnsPerSubnet)
	o.MaxHandshakesPerIP = cmp.Or(o.MaxHandshakesPerIP, defaultMaxHandshakesPerIP)
	o.MaxHandshakesPerSubnet = cmp.Or(o.MaxHandshakesPerSubnet, defaultMaxHandshakesPerSubnet)
	o.RetryAbove = cmp.Or(o.RetryAbove, defaultRetryAbove)
	return o
}

func (o Options) validate() error {
	switch {
	case o.IdleTimeout < 0:
		return fmt.Errorf("quic: IdleTimeout %v is negative", o.IdleTimeout)
	case o.MaxLinger < 0:
		return fmt.Errorf("quic: MaxLinger %v is negative", o.MaxLinger)
	case o.MaxConns < 0:
		return fmt.Errorf("quic: MaxConns %d is negative", o.MaxConns)
	case o.HandshakeTimeout < 0:
		return fmt.Errorf("quic: HandshakeTimeout %v is negative", o.HandshakeTimeout)
	case o.MaxStreamsPerConn < 0:
		return fmt.Errorf("quic: MaxStreamsPerConn %d is negative", o.MaxStreamsPerConn)
	}
	if err := transports.CheckNetwork(o.Network); err != nil {
		return fmt.Errorf("quic: %w", err)
	}
	return nil
}
