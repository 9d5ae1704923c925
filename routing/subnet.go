package routing

import "net/netip"

// AddrRule says which addresses the limits that count addresses per subnet or per host
// spare: the routing table's subnet limits, and the node's per-sender rate limit and
// store quotas, all follow it. The zero AddrRule is the default.
type AddrRule struct {
	// Everywhere applies the limits to loopback, private and link-local addresses as
	// to public ones, so that they can be exercised on one machine or a LAN; where every
	// node shares one IP it also makes them one sender. Unspecified and invalid
	// addresses stay exempt: they name no host.
	Everywhere bool
}

// Exempt reports whether an IP address is exempt from the limits: by default loopback,
// private (RFC 1918, RFC 4193), link-local and unspecified addresses, where every node of
// a test cluster or a LAN shares one network; with Everywhere, unspecified addresses only.
// An IPv4-mapped IPv6 address is judged as its IPv4 address.
func (r AddrRule) Exempt(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		return true
	}
	return !r.Everywhere && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast())
}

// Subnet returns the subnet an address counts against: its /24 for IPv4, its /64 for
// IPv6. It returns false for an exempt address (Exempt) or an invalid one.
func (r AddrRule) Subnet(ap netip.AddrPort) (netip.Prefix, bool) {
	ip := ap.Addr().Unmap()
	if !ip.IsValid() || r.Exempt(ip) {
		return netip.Prefix{}, false
	}
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// Exempt is AddrRule{}.Exempt: the default rule.
func Exempt(ip netip.Addr) bool { return AddrRule{}.Exempt(ip) }

// Subnet is AddrRule{}.Subnet: the default rule.
func Subnet(ap netip.AddrPort) (netip.Prefix, bool) { return AddrRule{}.Subnet(ap) }
