package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"kad/api"
	"kad/node"
	"kad/protocol"
)

// scrape reads a's /metrics with the Prometheus text parser.
func (a apiNode) scrape(t *testing.T) metrics {
	t.Helper()
	status, h, body := a.do(t, "GET", "/metrics", nil)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", status, h.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return metrics{t, fams}
}

type metrics struct {
	t    *testing.T
	fams map[string]*dto.MetricFamily
}

// get returns the value of the metric of this name whose labels include labels (name,
// value pairs): a counter's or gauge's value, a histogram's count of samples. It fails
// the test if there is none.
func (m metrics) get(name string, labels ...string) float64 {
	m.t.Helper()
	v, ok := m.lookup(name, labels...)
	if !ok {
		m.t.Fatalf("no metric %s with labels %v", name, labels)
	}
	return v
}

// lookup is get that reports whether there is such a metric.
func (m metrics) lookup(name string, labels ...string) (float64, bool) {
	m.t.Helper()
	f, ok := m.fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, mt := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return mt.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return mt.GetGauge().GetValue(), true
		case dto.MetricType_HISTOGRAM:
			return float64(mt.GetHistogram().GetSampleCount()), true
		}
		m.t.Fatalf("metric %s is a %s", name, f.GetType())
	}
	return 0, false
}

// TestMetrics scrapes the nodes' metrics before and after a put and a get, and checks
// what moved: the STOREs the put sent, the FIND_VALUEs the get sent and its holders
// answered, the lookups' histograms, the records held.
func TestMetrics(t *testing.T) {
	const size = 6
	_, nodes := newClusterConfig(t, size, node.Config{K: 2, Alpha: 1}, api.Options{})
	key := protocol.KeyFromString("metered")
	putter := nodes[0]
	before := make([]metrics, size)
	for i, a := range nodes {
		before[i] = a.scrape(t)
	}

	var stored api.Stored
	putter.getJSON(t, "PUT", "/v1/values/metered", []byte("value"), &stored)
	holds := func(a apiNode) bool {
		_, ok, _ := a.Store().Get(key, time.Now())
		return ok
	}
	getter := -1
	for i, a := range nodes {
		if !holds(a) {
			getter = i
			break
		}
	}
	if getter < 0 {
		t.Fatalf("with k 2 every one of %d nodes holds the value", size)
	}
	if status, _, body := nodes[getter].do(t, "GET", "/v1/values/metered", nil); status != http.StatusOK || string(body) != "value" {
		t.Fatalf("get: %d %q", status, body)
	}

	after := make([]metrics, size)
	for i, a := range nodes {
		after[i] = a.scrape(t)
	}
	// A histogram without a sample yet is not scraped: before, it counts as 0.
	delta := func(i int, name string, labels ...string) float64 {
		t.Helper()
		was, _ := before[i].lookup(name, labels...)
		return after[i].get(name, labels...) - was
	}
	remote := float64(stored.Replicas)
	if holds(putter) {
		remote--
	}
	if got := delta(0, "kad_rpc_sent_total", "type", "STORE", "outcome", "ok"); got != remote {
		t.Errorf("put: %v STOREs sent ok, want %v", got, remote)
	}
	if got := delta(0, "kad_lookup_duration_seconds", "kind", "node"); got < 1 {
		t.Errorf("put: %v node lookups timed, want at least 1", got)
	}
	if got := delta(0, "kad_lookup_hops", "kind", "node"); got < 1 {
		t.Errorf("put: %v node lookups' hops, want at least 1", got)
	}
	sentFV := delta(getter, "kad_rpc_sent_total", "type", "FIND_VALUE", "outcome", "ok")
	if sentFV < 1 {
		t.Errorf("get: %v FIND_VALUEs sent ok, want at least 1", sentFV)
	}
	if got := delta(getter, "kad_lookup_duration_seconds", "kind", "value"); got != 1 {
		t.Errorf("get: %v value lookups timed, want 1", got)
	}
	if got := delta(getter, "kad_values_found_total"); got != 1 {
		t.Errorf("get: %v values found, want 1", got)
	}
	var answeredFV, records float64
	for i := range nodes {
		answeredFV += delta(i, "kad_rpc_received_total", "type", "FIND_VALUE", "outcome", "answered")
		records += after[i].get("kad_records")
	}
	if answeredFV != sentFV {
		t.Errorf("get: %v FIND_VALUEs answered over the cluster, %v sent", answeredFV, sentFV)
	}
	if records < float64(stored.Replicas) {
		t.Errorf("%v records over the cluster, the put stored %d", records, stored.Replicas)
	}

	m, a := after[0], putter
	if got := m.get("kad_routing_table_contacts"); got != float64(len(a.Contacts())) {
		t.Errorf("kad_routing_table_contacts %v, the node has %d", got, len(a.Contacts()))
	}
	if got := m.get("kad_routing_table_buckets"); got != float64(len(a.Buckets())) {
		t.Errorf("kad_routing_table_buckets %v, the node has %d", got, len(a.Buckets()))
	}
	if got := m.get("kad_node_info", "id", a.ID().String(), "transport", "mem"); got != 1 {
		t.Errorf("kad_node_info %v, want 1", got)
	}
	for _, o := range []string{"rate_limited", "store_full", "too_large", "malformed", "identity", "internal"} {
		m.get("kad_requests_refused_total", "reason", o)
	}
	m.get("kad_rpc_received_total", "type", "unknown", "outcome", "malformed")
	m.get("kad_rpc_sent_total", "type", "PING", "outcome", "timeout")
	m.get("kad_transport_dropped_total")
	m.get("go_goroutines")
	st := a.Stats()
	if got := m.get("kad_record_bytes"); got != float64(st.StoredBytes) {
		t.Errorf("kad_record_bytes %v, the node holds %d", got, st.StoredBytes)
	}
	if got := m.get("kad_serving", "reachability", a.Reachability().String()); got != 1 || !a.Serving() {
		t.Errorf("kad_serving %v (node serving: %v), want 1", got, a.Serving())
	}
}

// TestMetricsRegistry: a registry given in Options gets kad's metrics and no others,
// and serves one Server: a second on it fails.
func TestMetricsRegistry(t *testing.T) {
	c, _ := newCluster(t, 1, api.Options{})
	reg := prometheus.NewRegistry()
	if _, err := api.New(c.Nodes[0], api.Options{Registry: reg}); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "kad_") {
			t.Errorf("metric %s in the given registry", f.GetName())
		}
	}
	if len(fams) == 0 {
		t.Errorf("no metrics in the given registry")
	}
	if _, err := api.New(c.Nodes[0], api.Options{Registry: reg}); err == nil {
		t.Errorf("a second Server on one registry: no error")
	}
}
