package mem

import "kad/transports"

var _ transports.Counting = (*Transport)(nil)

// Counters returns what the transport counts, for metrics.
func (t *Transport) Counters() []transports.Counter {
	return []transports.Counter{
		{Name: "dropped", Help: "Requests dropped on arrival because the transport was not serving yet or ran its most concurrent handlers.", Value: float64(t.Dropped())},
	}
}
