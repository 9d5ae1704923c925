package quic

import "kad/transports"

var (
	_ transports.Counting = (*Transport)(nil)
	_ transports.Keeper   = (*Transport)(nil)
)

// Counters returns the transport's Stats as transports.Counters, for metrics.
func (t *Transport) Counters() []transports.Counter {
	s := t.Stats()
	return []transports.Counter{
		{Name: "dials", Help: "QUIC handshakes completed as the dialing side.", Value: float64(s.Dials)},
		{Name: "accepts", Help: "QUIC handshakes completed as the listening side.", Value: float64(s.Accepts)},
		{Name: "wrong_network", Help: "QUIC handshakes refused because the client belongs to another network.", Value: float64(s.WrongNetwork)},
		{Name: "refused_conns_per_ip", Help: "Incoming QUIC connections refused because their source IP held Options.MaxConnsPerIP connections.", Value: float64(s.RefusedConnsPerIP)},
		{Name: "refused_conns_per_subnet", Help: "Incoming QUIC connections refused because their source subnet held Options.MaxConnsPerSubnet connections.", Value: float64(s.RefusedConnsPerSubnet)},
		{Name: "refused_handshakes_per_ip", Help: "Incoming QUIC connections refused because their source IP held Options.MaxHandshakesPerIP handshakes in progress.", Value: float64(s.RefusedHandshakesPerIP)},
		{Name: "refused_handshakes_per_subnet", Help: "Incoming QUIC connections refused because their source subnet held Options.MaxHandshakesPerSubnet handshakes in progress.", Value: float64(s.RefusedHandshakesPerSubnet)},
		{Name: "refused_full", Help: "Incoming QUIC connections refused because only kept peers' connections could have made room.", Value: float64(s.RefusedFull)},
		{Name: "retries", Help: "Incoming QUIC handshakes asked to prove their source address with a Retry.", Value: float64(s.Retries)},
		{Name: "resumed", Help: "QUIC handshakes, either side, that resumed a TLS session.", Value: float64(s.Resumed)},
		{Name: "linger_closed", Help: "QUIC connections closed for staying unused longer than their linger.", Value: float64(s.LingerClosed)},
		{Name: "datagrams_dropped", Help: "QUIC datagrams dropped on arrival: malformed, unawaited responses, requests over the limit or already being answered.", Value: float64(s.DatagramsDropped)},
		{Name: "datagram_calls", Help: "Calls answered in a QUIC datagram rather than on a stream.", Value: float64(s.DatagramCalls)},
		{Name: "conns", Help: "QUIC connections open now.", Value: float64(s.Conns), Gauge: true},
	}
}
