package routing

import "net/netip"

// Exempt reports whether an IP address is exempt from the limits that count addresses
// per subnet or per host: loopback, private (RFC 1918, RFC 4193), link-local and
// unspecified addresses, where every node of a test cluster or a LAN shares one network.
// The routing table's subnet limits and the node's per-sender rate limit both follow this
// rule; an IPv4-mapped IPv6 address is judged as its IPv4 address.
func Exempt(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
}

// Subnet returns the subnet an address counts against: its /24 for IPv4, its /64 for
// IPv6. It returns false for an exempt address (Exempt) or an invalid one.
func Subnet(ap netip.AddrPort) (netip.Prefix, bool) {
	ip := ap.Addr().Unmap()
	if !ip.IsValid() || Exempt(ip) {
		return netip.Prefix{}, false
	}
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}
