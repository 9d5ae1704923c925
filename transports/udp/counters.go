package udp

import "kad/transports"

var _ transports.Counting = (*Transport)(nil)

// Counters returns the transport's Stats as transports.Counters, for metrics.
func (t *Transport) Counters() []transports.Counter {
	s := t.Stats()
	return []transports.Counter{
		{Name: "dropped", Help: "Requests dropped because the transport was not serving yet or its queue was full.", Value: float64(s.Dropped)},
		{Name: "malformed", Help: "Datagrams dropped for their framing.", Value: float64(s.Malformed)},
		{Name: "wrong_network", Help: "Datagrams dropped because they belong to another network.", Value: float64(s.WrongNetwork)},
		{Name: "unmatched", Help: "Responses dropped because no call was waiting for them: late, duplicated or forged.", Value: float64(s.Unmatched)},
		{Name: "read_errors", Help: "Failed reads from the socket.", Value: float64(s.ReadErrors)},
		{Name: "workers", Help: "Handler goroutines alive now.", Value: float64(s.Workers), Gauge: true},
	}
}
