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
	// MaxConns caps the open connections, dialed and accepted together. When a new one
	// would exceed it, the least recently used connection is closed, preferring one with
	// no call in flight. Default 512.
	MaxConns int
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
	defaultMaxConns         = 512
	defaultHandshakeTimeout = 5 * time.Second
	defaultMaxStreams       = 256
)

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.IdleTimeout = cmp.Or(o.IdleTimeout, defaultIdleTimeout)
	o.MaxConns = cmp.Or(o.MaxConns, defaultMaxConns)
	o.HandshakeTimeout = cmp.Or(o.HandshakeTimeout, defaultHandshakeTimeout)
	o.MaxStreamsPerConn = cmp.Or(o.MaxStreamsPerConn, defaultMaxStreams)
	return o
}

func (o Options) validate() error {
	switch {
	case o.IdleTimeout < 0:
		return fmt.Errorf("quic: IdleTimeout %v is negative", o.IdleTimeout)
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
