package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"kad/node"
)

// Metrics are the histograms of the node's iterative lookups, which only the node's
// Config.OnLookup can feed: make them before the node, set ObserveLookup as its
// OnLookup, and give them to New in Options.Metrics. They are a prometheus.Collector.
type Metrics struct {
	duration *prometheus.HistogramVec
	hops     *prometheus.HistogramVec
}

var _ prometheus.Collector = (*Metrics)(nil)

// NewMetrics returns empty lookup histograms.
func NewMetrics() *Metrics {
	return &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kad_lookup_duration_seconds",
			Help: "How long iterative lookups took, by kind (node: FIND_NODE, value: FIND_VALUE).",
			// 50 µs (a lookup within one machine) to 6.6 s; slower ones count only
			// in +Inf.
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18),
		}, []string{"kind"}),
		hops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kad_lookup_hops",
			Help:    "Referral depth at which a lookup found the value, or learned the closest node that answered; lookups cut short are left out.",
			Buckets: prometheus.LinearBuckets(1, 1, 10),
		}, []string{"kind"}),
	}
}

// ObserveLookup records one lookup: its duration always, its hops when it ran to its
// end. It has the type of node.Config.OnLookup; it does not block.
func (m *Metrics) ObserveLookup(t node.LookupTrace) {
	kind := "node"
	if t.Value {
		kind = "value"
	}
	m.duration.WithLabelValues(kind).Observe(t.Took.Seconds())
	if t.Err == nil {
		m.hops.WithLabelValues(kind).Observe(float64(t.Hops))
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.duration.Describe(ch)
	m.hops.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.duration.Collect(ch)
	m.hops.Collect(ch)
}
