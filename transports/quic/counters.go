package quic

import "kad/transports"

var _ transports.Counting = (*Transport)(nil)

// Counters returns the transport's Stats as transports.Counters, for metrics.
func (t *Transport) Counters() []transports.Counter {
	s := t.Stats()
	return []transports.Counter{
		{Name: "dials", Help: "QUIC handshakes completed as the dialing side.", Value: float64(s.Dials)},
		{Name: "accepts", Help: "QUIC handshakes completed as the listening side.", Value: float64(s.Accepts)},
		{Name: "wrong_network", Help: "QUIC handshakes refused because the client belongs to another network.", Value: float64(s.WrongNetwork)},
		{Name: "conns", Help: "QUIC connections open now.", Value: float64(s.Conns), Gauge: true},
	}
}
