package transports

import (
	"errors"
	"fmt"
)

// Networks. Nodes of different networks never admit each other: each transport marks
// what it sends with its network (the UDP framing carries a network tag, QUIC a network's
// own ALPN) and drops what comes from another. The public network has no name; a private
// one is named by its operators. PROTOCOL.md, section Networks, gives the rules.

// MaxNetworkLen is the longest network name, in bytes.
const MaxNetworkLen = 32

var (
	// ErrBadNetwork is returned for a network name CheckNetwork refuses.
	ErrBadNetwork = errors.New("bad network name")
	// ErrWrongNetwork is returned by a call that reached a node of another network (or a
	// peer that speaks none of kad's), for transports that can tell: over QUIC the
	// handshake fails, while over UDP a node of another network is a silent one.
	ErrWrongNetwork = errors.New("peer on another network")
)

// PublicNetwork is what the command line calls the public network. As a name it is
// refused, so that no private network can pass for the public one.
const PublicNetwork = "public"

// CheckNetwork reports whether name may name a network: empty for the public network,
// or 1 to MaxNetworkLen bytes of lowercase ASCII letters, digits, '.', '_' and '-',
// beginning with a letter or digit, other than PublicNetwork. One spelling per network,
// with no case to fold, so that every implementation derives the same tag and ALPN
// from it.
func CheckNetwork(name string) error {
	switch name {
	case "":
		return nil
	case PublicNetwork:
		return fmt.Errorf("%w %q: the public network has no name; leave it empty", ErrBadNetwork, name)
	}
	if len(name) > MaxNetworkLen {
		return fmt.Errorf("%w %q: %d bytes, at most %d", ErrBadNetwork, name, len(name), MaxNetworkLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("%w %q: want lowercase letters, digits, '.', '_' and '-', beginning with a letter or digit", ErrBadNetwork, name)
		}
	}
	return nil
}
