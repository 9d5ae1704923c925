package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"kad/internal/figures"
	"kad/node"
)

// Result is every figure of one run. Its JSON field names are stable: scripts read them
// from the last line `kad bench` prints. Durations are in microseconds, sizes in bytes.
type Result struct {
	Transport      string `json:"transport"`
	Nodes          int    `json:"nodes"`
	Ops            int    `json:"ops"`
	Parallel       int    `json:"parallel"`
	ValueSize      int    `json:"value_size"`
	Seed           uint64 `json:"seed"`
	K              int    `json:"k"`
	Alpha          int    `json:"alpha"`
	BootstrapPeers int    `json:"bootstrap_peers"`
	GoVersion      string `json:"go_version"`
	GOMAXPROCS     int    `json:"gomaxprocs"`

	// BootstrapTotalUS is the time to start and join every node, one after another;
	// BootstrapPerNodeUS and BootstrapMaxUS are the mean and longest Bootstrap call.
	BootstrapTotalUS     float64 `json:"bootstrap_total_us"`
	BootstrapPerNodeUS   float64 `json:"bootstrap_per_node_us"`
	BootstrapMaxUS       float64 `json:"bootstrap_max_us"`
	BootstrapRPCsPerNode float64 `json:"bootstrap_rpcs_per_node"`
	RoutingTableMean     float64 `json:"routing_table_mean"`

	// Baseline* is the process before any node started; the per-node figures subtract it.
	BaselineHeapBytes  uint64 `json:"baseline_heap_bytes"`
	BaselineRSSBytes   uint64 `json:"baseline_rss_bytes"`
	BaselineGoroutines int    `json:"baseline_goroutines"`
	// Measured right after the last node joined.
	HeapPerNodeJoinedBytes  float64 `json:"heap_per_node_joined_bytes"`
	GoroutinesPerNodeJoined float64 `json:"goroutines_per_node_joined"`
	// Measured with the cluster idle for IdleWaitUS after bootstrap.
	IdleWaitUS        float64 `json:"idle_wait_us"`
	HeapPerNodeBytes  float64 `json:"heap_per_node_bytes"`
	RSSPerNodeBytes   float64 `json:"rss_per_node_bytes"`
	GoroutinesPerNode float64 `json:"goroutines_per_node"`
	// Measured after every phase, with the records stored.
	HeapPerNodeAfterOpsBytes float64 `json:"heap_per_node_after_ops_bytes"`
	RSSPerNodeAfterOpsBytes  float64 `json:"rss_per_node_after_ops_bytes"`
	RecordsPerNode           float64 `json:"records_per_node"`

	PutSequential    Phase `json:"put_sequential"`
	GetSequential    Phase `json:"get_sequential"`
	LookupSequential Phase `json:"lookup_sequential"`
	PutParallel      Phase `json:"put_parallel"`
	GetParallel      Phase `json:"get_parallel"`
	LookupParallel   Phase `json:"lookup_parallel"`

	// GoroutinesLeft is the goroutines still running after every node closed, beyond the
	// baseline: 0 unless something leaked.
	GoroutinesLeft int     `json:"goroutines_left"`
	WallUS         float64 `json:"wall_us"`
}

// Phase is one operation run Count times by Callers concurrent callers.
type Phase struct {
	Op      string `json:"op"`   // put, get or lookup
	Mode    string `json:"mode"` // sequential or parallel
	Callers int    `json:"callers"`
	Count   int    `json:"count"`
	OK      int    `json:"ok"`
	Failed  int    `json:"failed"`
	// Local counts the gets answered from the calling node's own store, without a
	// lookup: the caller is chosen among the nodes that do not hold the key, so this is
	// 0 unless every node holds it (a cluster of k nodes or fewer).
	Local int `json:"local"`
	// Latencies of the successful operations.
	P50US  float64 `json:"p50_us"`
	P90US  float64 `json:"p90_us"`
	P99US  float64 `json:"p99_us"`
	MaxUS  float64 `json:"max_us"`
	MeanUS float64 `json:"mean_us"`
	// WallUS is the phase's duration; OpsPerSec is OK / WallUS.
	WallUS    float64 `json:"wall_us"`
	OpsPerSec float64 `json:"ops_per_sec"`
	// From the nodes' counters, summed over nodes, across the phase: every RPC sent
	// (lookups, STOREs of puts, caching STOREs of gets, pings of full buckets) per
	// operation; and the iterative lookups run with their RPCs and rounds.
	RPCsPerOp float64 `json:"rpcs_per_op"`
	// RPCsByType is RPCsPerOp by request type (PING, STORE, FIND_NODE, FIND_VALUE),
	// counting the RPCs that ended during the phase rather than those sent (the two
	// differ by those in flight at its edges); RPCsUnanswered is, per operation, those
	// that got no reply: timed out, canceled by the operation that sent them, or failed.
	RPCsByType      map[string]float64 `json:"rpcs_by_type"`
	RPCsUnanswered  float64            `json:"rpcs_unanswered"`
	Lookups         uint64             `json:"lookups"`
	RPCsPerLookup   float64            `json:"rpcs_per_lookup"`
	RoundsPerLookup float64            `json:"rounds_per_lookup"`
	// ReplicasMean is, for puts, the mean number of nodes that stored a value.
	ReplicasMean float64 `json:"replicas_mean"`
	// FirstError is the error of the first operation that failed, if any.
	FirstError string `json:"first_error,omitempty"`

	// latencies are the sorted latencies of the successful operations, for plots.
	latencies []time.Duration
}

// Name is the phase's label: "get sequential".
func (p *Phase) Name() string { return p.Op + " " + p.Mode }

// Latencies returns the sorted latencies of the phase's successful operations.
func (p *Phase) Latencies() []time.Duration { return p.latencies }

// Phases returns the six phases in the order they ran.
func (r *Result) Phases() []*Phase {
	return []*Phase{&r.PutSequential, &r.GetSequential, &r.LookupSequential,
		&r.PutParallel, &r.GetParallel, &r.LookupParallel}
}

// JSON returns the result as one line of JSON, without a newline.
func (r *Result) JSON() ([]byte, error) { return json.Marshal(r) }

// us converts a duration to microseconds.
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// setLatencies sorts lat, keeps it, and fills in the latency figures.
func (p *Phase) setLatencies(lat []time.Duration) {
	l := figures.Summarize(lat)
	p.latencies = lat
	p.P50US, p.P90US, p.P99US, p.MaxUS, p.MeanUS = us(l.P50), us(l.P90), us(l.P99), us(l.Max), us(l.Mean)
}

const tableHeader = "%-6s %-10s %7s %7s %6s %9s %9s %9s %9s %10s %8s %8s %7s\n"

func writeTableHeader(w io.Writer) {
	fmt.Fprintf(w, tableHeader, "op", "mode", "callers", "ok", "failed",
		"p50", "p90", "p99", "max", "ops/s", "rpcs/op", "rpcs/lk", "rounds")
}

func writeTableRow(w io.Writer, p *Phase) {
	fmt.Fprintf(w, "%-6s %-10s %7d %7d %6d %9s %9s %9s %9s %10.0f %8.1f %8.1f %7.2f\n",
		p.Op, p.Mode, p.Callers, p.OK, p.Failed,
		figures.Micros(p.P50US), figures.Micros(p.P90US), figures.Micros(p.P99US), figures.Micros(p.MaxUS),
		p.OpsPerSec, p.RPCsPerOp, p.RPCsPerLookup, p.RoundsPerLookup)
	switch {
	case p.Op == opPut:
		fmt.Fprintf(w, "       stored on %.1f nodes on average\n", p.ReplicasMean)
	case p.Op == opGet && p.Local > 0:
		fmt.Fprintf(w, "       %d of %d gets answered from the caller's own store (every node holds the key)\n", p.Local, p.Count)
	}
	fmt.Fprintf(w, "       rpcs/op:")
	for _, t := range node.RequestTypes {
		fmt.Fprintf(w, " %s %.1f", t, p.RPCsByType[t.String()])
	}
	fmt.Fprintf(w, "; unanswered %.2f\n", p.RPCsUnanswered)
	if p.FirstError != "" {
		fmt.Fprintf(w, "       first failure: %s\n", p.FirstError)
	}
}
