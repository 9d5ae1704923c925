package api

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"kad/node"
	"kad/transports"
)

// collector reads a node's Stats, and its transport's counters, when the metrics are
// scraped: the node counts in atomics of its own and nothing is copied in between.
type collector struct {
	n        *node.Node
	counting transports.Counting // nil if the transport counts nothing

	info, sent, received, refused                    *prometheus.Desc
	lookups, lookupRequests, lookupRounds, valuesFnd *prometheus.Desc
	contacts, buckets, records, recordBytes          *prometheus.Desc
	serving                                          *prometheus.Desc
	transport                                        []*prometheus.Desc // one per transport counter
	transportGauge                                   []bool
	infoLabels                                       []string
}

func newCollector(n *node.Node, transportName string, tr transports.Transport) *collector {
	c := &collector{
		n: n,
		info: prometheus.NewDesc("kad_node_info", "The node's ID, transport and whether the transport proves the ID; always 1.",
			[]string{"id", "transport", "verified"}, nil),
		sent: prometheus.NewDesc("kad_rpc_sent_total", "Requests this node sent, by type and outcome (ok, error, timeout, canceled, failed).",
			[]string{"type", "outcome"}, nil),
		received: prometheus.NewDesc("kad_rpc_received_total", "Requests this node answered, by type and outcome (answered, or the reason it refused them).",
			[]string{"type", "outcome"}, nil),
		refused: prometheus.NewDesc("kad_requests_refused_total", "Requests this node refused with ERROR, by reason.",
			[]string{"reason"}, nil),
		lookups:        prometheus.NewDesc("kad_lookups_total", "Iterative lookups run.", nil, nil),
		lookupRequests: prometheus.NewDesc("kad_lookup_requests_total", "Requests sent by iterative lookups.", nil, nil),
		lookupRounds:   prometheus.NewDesc("kad_lookup_rounds_total", "Sum over lookups of the longest chain of referrals followed.", nil, nil),
		valuesFnd:      prometheus.NewDesc("kad_values_found_total", "Value lookups that found the value.", nil, nil),
		contacts:       prometheus.NewDesc("kad_routing_table_contacts", "Contacts in the routing table.", nil, nil),
		buckets:        prometheus.NewDesc("kad_routing_table_buckets", "Non-empty k-buckets of the routing table.", nil, nil),
		records:        prometheus.NewDesc("kad_records", "Records in the node's store.", nil, nil),
		recordBytes:    prometheus.NewDesc("kad_record_bytes", "Total size of the values of the records in the node's store.", nil, nil),
		serving: prometheus.NewDesc("kad_serving", "1 while the node serves, 0 while it runs as a client (client-only, or found behind a NAT); labelled with what its reachability checks found (public, private, unknown).",
			[]string{"reachability"}, nil),
		infoLabels: []string{n.ID().String(), transportName, strconv.FormatBool(n.Verified())},
	}
	if counting, ok := tr.(transports.Counting); ok {
		c.counting = counting
		for _, tc := range counting.Counters() {
			name := "kad_transport_" + tc.Name
			if !tc.Gauge {
				name += "_total"
			}
			c.transport = append(c.transport, prometheus.NewDesc(name, tc.Help, nil, nil))
			c.transportGauge = append(c.transportGauge, tc.Gauge)
		}
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.sent, c.received, c.refused, c.lookups, c.lookupRequests,
		c.lookupRounds, c.valuesFnd, c.contacts, c.buckets, c.records, c.recordBytes, c.serving} {
		ch <- d
	}
	for _, d := range c.transport {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	st := c.n.Stats()
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, c.infoLabels...)
	var refused [node.NumReceivedOutcomes]uint64
	for i := range st.Received {
		typ := unknownType
		if i < len(node.RequestTypes) {
			typ = node.RequestTypes[i].String()
			for o, v := range st.Sent[i] {
				counter(c.sent, v, typ, node.SentOutcome(o).String())
			}
		}
		for o, v := range st.Received[i] {
			counter(c.received, v, typ, node.ReceivedOutcome(o).String())
			refused[o] += v
		}
	}
	for o, v := range refused {
		if node.ReceivedOutcome(o) != node.ReceivedAnswered {
			counter(c.refused, v, node.ReceivedOutcome(o).String())
		}
	}
	counter(c.lookups, st.Lookups)
	counter(c.lookupRequests, st.LookupRequests)
	counter(c.lookupRounds, st.LookupRounds)
	counter(c.valuesFnd, st.ValuesFound)
	gauge(c.contacts, float64(st.RoutingTableSize))
	gauge(c.buckets, float64(len(c.n.Buckets())))
	gauge(c.records, float64(st.StoredRecords))
	gauge(c.recordBytes, float64(st.StoredBytes))
	serving := 0.0
	if c.n.Serving() {
		serving = 1
	}
	ch <- prometheus.MustNewConstMetric(c.serving, prometheus.GaugeValue, serving, c.n.Reachability().String())
	if c.counting == nil {
		return
	}
	for i, tc := range c.counting.Counters() {
		if i == len(c.transport) {
			break // a transport that broke its promise of the same counters
		}
		kind := prometheus.CounterValue
		if c.transportGauge[i] {
			kind = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(c.transport[i], kind, tc.Value)
	}
}
