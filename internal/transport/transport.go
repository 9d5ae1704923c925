package transport

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
	"kad/transports/quic"
	"kad/transports/udp"
)

// The names of the transports.
const (
	UDP  = "udp"
	QUIC = "quic"
	Mem  = "mem"
)

// Names lists every transport Open knows, in the order help texts name them.
var Names = []string{UDP, QUIC, Mem}

// ErrUnknown is returned by Open and Check for a name that is not a transport.
var ErrUnknown = errors.New("unknown transport")

// Options is what a transport of any kind may need; each kind reads its part.
type Options struct {
	// Bind is the HOST:PORT a UDP or QUIC transport listens on. Default 127.0.0.1:0.
	Bind string
	// Key proves the node's identity over QUIC. Default: a new key.
	Key ed25519.PrivateKey
	// ClaimedID is the ID a QUIC transport claims when the node runs under a chosen ID.
	ClaimedID protocol.ID
	// Network is the in-memory network a mem transport joins. Required for mem.
	Network *mem.Network
	// NetworkName is the kad network a UDP or QUIC transport belongs to; empty means
	// the public network (see transports.CheckNetwork). Nodes of different networks
	// never admit each other. The mem transport ignores it: an in-memory Network is a
	// network of its own already, and nothing outside the process can reach it.
	NetworkName string
	// Logger receives the transport's logs. Default: discard.
	Logger *slog.Logger
}

// Check reports whether name is a transport Open knows.
func Check(name string) error {
	for _, n := range Names {
		if n == name {
			return nil
		}
	}
	return fmt.Errorf("%w %q: want udp, quic or mem", ErrUnknown, name)
}

// Open returns a new transport of the kind name. A bad NetworkName is refused with an
// error wrapping transports.ErrBadNetwork, whatever the kind.
func Open(name string, opts Options) (transports.Transport, error) {
	if err := transports.CheckNetwork(opts.NetworkName); err != nil {
		return nil, err
	}
	if opts.Bind == "" {
		opts.Bind = "127.0.0.1:0"
	}
	switch name {
	case UDP:
		return udp.Listen(opts.Bind, udp.Options{Logger: opts.Logger, Network: opts.NetworkName})
	case QUIC:
		key := opts.Key
		if key == nil {
			var err error
			if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
				return nil, fmt.Errorf("quic: generate key: %w", err)
			}
		}
		return quic.Listen(opts.Bind, key, quic.Options{Logger: opts.Logger, ClaimedID: opts.ClaimedID, Network: opts.NetworkName})
	case Mem:
		if opts.Network == nil {
			return nil, errors.New("mem: no network given")
		}
		return opts.Network.NewTransport()
	}
	return nil, Check(name)
}
