package transports

// Counter is one figure a transport keeps of what it did, for metrics and status pages.
type Counter struct {
	// Name is the figure's name in snake case, without a unit or _total suffix:
	// "dropped", "conns".
	Name string
	// Help says what it counts, in one sentence.
	Help string
	// Value is the figure now.
	Value float64
	// Gauge marks a figure that goes up and down, such as connections open now; the
	// others only grow.
	Gauge bool
}

// Counting is implemented by transports that count what they do (udp, quic, mem).
// Counters returns the figures as they are now, always the same names in the same
// order; it does not block and is safe for concurrent use.
type Counting interface {
	Counters() []Counter
}
