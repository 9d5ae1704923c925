package protocol

import (
	"fmt"
	"net/netip"
	"strings"
)

// Contact is what one node knows of another: its ID and the address it listens on.
type Contact struct {
	ID   ID
	Addr netip.AddrPort
}

// String returns "ID@HOST:PORT", the form ParseContact reads.
func (c Contact) String() string { return c.ID.String() + "@" + c.Addr.String() }

// ParseContact reads a contact written as "ID@HOST:PORT".
func ParseContact(s string) (Contact, error) {
	idText, addrText, ok := strings.Cut(s, "@")
	if !ok {
		return Contact{}, fmt.Errorf("parse contact %q: want ID@HOST:PORT", s)
	}
	id, err := ParseID(idText)
	if err != nil {
		return Contact{}, fmt.Errorf("parse contact %q: %w", s, err)
	}
	addr, err := ParseAddr(addrText)
	if err != nil {
		return Contact{}, fmt.Errorf("parse contact %q: %w", s, err)
	}
	return Contact{ID: id, Addr: addr}, nil
}

// ParseAddr reads "IP:PORT" (IPv6 in brackets) and refuses port 0 and unspecified IPs,
// which cannot be sent to.
func ParseAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%w: %q: want IP:PORT", ErrBadAddr, s)
	}
	if err := CheckAddr(ap); err != nil {
		return ap, err
	}
	return ap, nil
}

// CheckAddr reports whether ap is an address a node can be reached at. An IPv4-mapped
// IPv6 address is judged as the IPv4 address it goes on the wire as.
func CheckAddr(ap netip.AddrPort) error {
	ip := ap.Addr().Unmap()
	if !ap.IsValid() || ap.Port() == 0 || ip.IsUnspecified() || ip.IsMulticast() {
		return fmt.Errorf("%w: %s", ErrBadAddr, ap)
	}
	return nil
}

// SortByDistance sorts cs in place, closest to target first.
func SortByDistance(target ID, cs []Contact) {
	// Insertion sort is fastest for the short (≤ a few k) lists lookups handle.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && target.CmpDistance(cs[j].ID, cs[j-1].ID) < 0; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// addrLen is the length of ap's packed form: 6 bytes for IPv4 (also IPv4-mapped IPv6),
// 18 for IPv6.
func addrLen(ap netip.AddrPort) int {
	if ap.Addr().Unmap().Is4() {
		return 6
	}
	return 18
}
