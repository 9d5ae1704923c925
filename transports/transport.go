package transports

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"kad/protocol"
)

// Peer is what a transport knows of the other end of a request or call.
type Peer struct {
	// Addr is the address the bytes came from (for a call: the address called).
	Addr netip.AddrPort
	// ID is the node ID the transport knows the peer by, zero if it knows none (UDP and
	// mem). Over QUIC it is the ID the peer's certificate names.
	ID protocol.ID
	// Verified reports whether the transport proved ID cryptographically: over QUIC, the
	// named ID is the one derived from the key the peer proved it holds.
	Verified bool
}

// Handler answers one incoming request. It is called concurrently from the transport's
// goroutines and must be safe for that. req is valid only until Handler returns; the
// returned bytes are owned by the transport from then on. A non-nil error is sent back
// to the caller, whose Call returns an error wrapping ErrRemote, except ErrNoReply,
// which sends nothing; a nil response with a nil error sends an empty response.
type Handler func(ctx context.Context, from Peer, req []byte) ([]byte, error)

// Transport carries request/response exchanges between nodes. Implementations are safe
// for concurrent use.
type Transport interface {
	// Serve starts delivering incoming requests to h. It does not block. It may be called
	// once; requests that arrive before it are dropped (or refused).
	Serve(h Handler) error

	// Call sends req to the node at to.Addr and blocks until its response arrives, ctx
	// ends, or the transport closes. If to.ID is not zero and the transport knows peers'
	// IDs, a peer known by another ID fails the call with ErrIDMismatch. The
	// returned Peer says what the transport knows of the responder. req is not retained;
	// the response belongs to the caller. Messages over protocol.MaxMessageSize fail
	// with protocol.ErrTooLarge without being sent.
	Call(ctx context.Context, to protocol.Contact, req []byte) ([]byte, Peer, error)

	// LocalAddr returns the address this transport listens on, which peers call it at.
	LocalAddr() netip.AddrPort

	// Close stops the transport: pending and later Calls fail with ErrClosed, and
	// Close waits for the transport's goroutines to end. Calling Close again is harmless.
	Close() error
}

var (
	// ErrClosed is returned by a transport that was closed. errors.Is(err, net.ErrClosed)
	// also holds for it.
	ErrClosed = closedError{}
	// ErrRemote wraps the error a remote handler returned.
	ErrRemote = errors.New("remote handler failed")
	// ErrNoReply, returned by a Handler, asks the transport to send nothing back: the
	// request deserves no answer, and any answer would be larger than the node may send
	// to an address it has not validated. The caller sees a timeout.
	ErrNoReply = errors.New("no reply")
	// ErrIDMismatch is returned when the peer proved an ID other than the one it was
	// called under.
	ErrIDMismatch = errors.New("peer id mismatch")
	// ErrUnreachable is returned when the transport knows the address cannot be reached
	// (no listener at it, for transports that can tell).
	ErrUnreachable = errors.New("peer unreachable")
)

type closedError struct{}

func (closedError) Error() string        { return "transport closed" }
func (closedError) Is(target error) bool { return target == net.ErrClosed }

// Identified is implemented by transports that prove node identities (QUIC). LocalID is
// the ID this transport proves to its peers.
type Identified interface {
	LocalID() protocol.ID
}
