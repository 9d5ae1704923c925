package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchPhase is the part of a phase of the JSON line the tests look at.
type benchPhase struct {
	Op              string             `json:"op"`
	Mode            string             `json:"mode"`
	Callers         int                `json:"callers"`
	Count           int                `json:"count"`
	OK              int                `json:"ok"`
	Failed          int                `json:"failed"`
	Local           int                `json:"local"`
	P50             float64            `json:"p50_us"`
	P90             float64            `json:"p90_us"`
	P99             float64            `json:"p99_us"`
	Max             float64            `json:"max_us"`
	OpsPerSec       float64            `json:"ops_per_sec"`
	RPCsPerOp       float64            `json:"rpcs_per_op"`
	RPCsByType      map[string]float64 `json:"rpcs_by_type"`
	RPCsPerLookup   float64            `json:"rpcs_per_lookup"`
	RoundsPerLookup float64            `json:"rounds_per_lookup"`
	ReplicasMean    float64            `json:"replicas_mean"`
	FirstError      string             `json:"first_error"`
}

// benchJSON is the part of the JSON line the tests look at.
type benchJSON struct {
	Transport         string     `json:"transport"`
	Nodes             int        `json:"nodes"`
	Ops               int        `json:"ops"`
	Parallel          int        `json:"parallel"`
	BootstrapTotal    float64    `json:"bootstrap_total_us"`
	BootstrapPerNode  float64    `json:"bootstrap_per_node_us"`
	RoutingTableMean  float64    `json:"routing_table_mean"`
	HeapPerNode       float64    `json:"heap_per_node_bytes"`
	RSSPerNode        float64    `json:"rss_per_node_bytes"`
	GoroutinesPerNode float64    `json:"goroutines_per_node"`
	GoroutinesJoined  float64    `json:"goroutines_per_node_joined"`
	IdleWait          float64    `json:"idle_wait_us"`
	GoroutinesLeft    int        `json:"goroutines_left"`
	PutSequential     benchPhase `json:"put_sequential"`
	GetSequential     benchPhase `json:"get_sequential"`
	LookupSequential  benchPhase `json:"lookup_sequential"`
	PutParallel       benchPhase `json:"put_parallel"`
	GetParallel       benchPhase `json:"get_parallel"`
	LookupParallel    benchPhase `json:"lookup_parallel"`
}

// runBenchCmd runs `kad bench` with args and returns its JSON line, decoded, and its
// standard output.
func runBenchCmd(t *testing.T, args ...string) (benchJSON, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"kad", "bench", "--progress", "0", "--idle-wait", "0"}, args...),
		strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("kad bench %q: exit status %d, stderr %q", args, code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q, want nothing", stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var res benchJSON
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("last line %q: %v", last, err)
	}
	t.Logf("kad bench %s:\n%s", strings.Join(args, " "), strings.Join(lines[:len(lines)-1], "\n"))
	return res, stdout.String()
}

// checkBench checks that a run without faults did every operation and that its figures
// are consistent.
func checkBench(t *testing.T, res benchJSON, transport string, nodes, ops, parallel int, localGets bool) {
	t.Helper()
	if res.Transport != transport || res.Nodes != nodes || res.Ops != ops || res.Parallel != parallel {
		t.Errorf("run: transport %q nodes %d ops %d parallel %d, want %q %d %d %d",
			res.Transport, res.Nodes, res.Ops, res.Parallel, transport, nodes, ops, parallel)
	}
	if res.BootstrapTotal <= 0 || res.BootstrapPerNode <= 0 || res.BootstrapPerNode > res.BootstrapTotal {
		t.Errorf("bootstrap: total %v µs, per node %v µs", res.BootstrapTotal, res.BootstrapPerNode)
	}
	if res.RoutingTableMean < 1 || res.RoutingTableMean > float64(nodes-1) {
		t.Errorf("routing table: %v contacts per node, want 1..%d", res.RoutingTableMean, nodes-1)
	}
	// Ten nodes' heap (about 500 KiB) is within what the garbage of the tests that ran
	// before may free meanwhile: the figure can come out a little below zero, never far.
	if math.IsNaN(res.HeapPerNode) || res.HeapPerNode < -64<<10 || res.HeapPerNode > 64<<20 {
		t.Errorf("heap per node %v, want a figure within -64 KiB..64 MiB", res.HeapPerNode)
	}
	if res.GoroutinesPerNode < 0 {
		t.Errorf("goroutines per node %v, want 0 or more", res.GoroutinesPerNode)
	}
	phases := []benchPhase{res.PutSequential, res.GetSequential, res.LookupSequential,
		res.PutParallel, res.GetParallel, res.LookupParallel}
	for i, p := range phases {
		wantOp := []string{"put", "get", "lookup"}[i%3]
		wantMode, wantCallers := "sequential", 1
		if i >= 3 {
			wantMode, wantCallers = "parallel", parallel
		}
		name := wantOp + " " + wantMode
		if p.Op != wantOp || p.Mode != wantMode || p.Callers != wantCallers {
			t.Errorf("%s: op %q mode %q callers %d", name, p.Op, p.Mode, p.Callers)
		}
		if p.Count != ops || p.OK != ops || p.Failed != 0 {
			t.Errorf("%s: count %d ok %d failed %d (%s), want %d ok", name, p.Count, p.OK, p.Failed, p.FirstError, ops)
		}
		if !(0 < p.P50 && p.P50 <= p.P90 && p.P90 <= p.P99 && p.P99 <= p.Max) {
			t.Errorf("%s: p50 %v p90 %v p99 %v max %v µs, want 0 < p50 ≤ p90 ≤ p99 ≤ max", name, p.P50, p.P90, p.P99, p.Max)
		}
		if p.OpsPerSec <= 0 {
			t.Errorf("%s: %v ops/s", name, p.OpsPerSec)
		}
		local := p.Op == "get" && localGets
		switch {
		case local:
			if p.Local != ops || p.RPCsPerLookup != 0 {
				t.Errorf("%s: %d local, %v RPCs per lookup; want every get local", name, p.Local, p.RPCsPerLookup)
			}
		case p.Local != 0 || p.RPCsPerOp < 1 || p.RPCsPerLookup < 1 || p.RoundsPerLookup < 1:
			t.Errorf("%s: %d local, %v RPCs per op, %v RPCs and %v rounds per lookup", name,
				p.Local, p.RPCsPerOp, p.RPCsPerLookup, p.RoundsPerLookup)
		}
		if len(p.RPCsByType) != 4 {
			t.Errorf("%s: RPCs by type %v, want the four request types", name, p.RPCsByType)
		}
		// A put's replicas are its STOREs that succeeded, and the putting node's own
		// store when it is among the k closest.
		if p.Op == "put" && p.RPCsByType["STORE"] < p.ReplicasMean-1 {
			t.Errorf("%s: %v STOREs per put for %v replicas", name, p.RPCsByType["STORE"], p.ReplicasMean)
		}
		if p.Op == "put" && (p.ReplicasMean < 1 || p.RPCsPerOp < p.RPCsPerLookup) {
			t.Errorf("%s: %v replicas, %v RPCs per op, %v per lookup", name, p.ReplicasMean, p.RPCsPerOp, p.RPCsPerLookup)
		}
	}
}

func TestBench(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		transport string
		localGets bool // every node holds every key: n ≤ k
		lingers   bool // connections the idle wait closes
	}{
		// k 4 of 10 nodes: gets come from nodes that do not hold the key.
		{name: "mem", transport: "mem", args: []string{"--k", "4"}},
		{name: "mem all holders", transport: "mem", localGets: true},
		{name: "udp", transport: "udp", args: []string{"--k", "4"}},
		// The wait outlasts the linger of accepted connections (4 s).
		{name: "quic", transport: "quic", args: []string{"--k", "4", "--idle-wait", "5s"}, lingers: true},
	}
	const nodes, ops, parallel = 10, 20, 4
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--nodes", "10", "--ops", "20", "--parallel", "4",
				"--transport", tt.transport}, tt.args...)
			res, _ := runBenchCmd(t, args...)
			checkBench(t, res, tt.transport, nodes, ops, parallel, tt.localGets)
			if tt.lingers {
				// Each connection holds goroutines of quic-go and one of the transport's.
				if res.IdleWait != 5e6 || res.GoroutinesPerNode > res.GoroutinesJoined-2 {
					t.Errorf("idle %v µs later: %.1f goroutines per node, joined %.1f; want 2 fewer or less",
						res.IdleWait, res.GoroutinesPerNode, res.GoroutinesJoined)
				}
			}
		})
	}
}

func TestBenchPlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cdf.png")
	_, out := runBenchCmd(t, "--nodes", "5", "--ops", "10", "--transport", "mem", "--plot", path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG: starts %q", path, b[:min(len(b), 8)])
	}
	if !strings.Contains(out, path) {
		t.Errorf("stdout does not name the plot %s:\n%s", path, out)
	}
}

// TestBenchCPUProfile: --cpuprofile writes a profile that the runtime/pprof format
// (gzip) starts.
func TestBenchCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	runBenchCmd(t, "--nodes", "5", "--ops", "10", "--transport", "mem", "--cpuprofile", path)
	checkProfile(t, path)
}

// checkProfile checks that the file at path starts as a runtime/pprof profile does
// (gzip).
func checkProfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("%s is not a gzipped profile: starts %q", path, b[:min(len(b), 8)])
	}
}

// TestBenchMemProfile: --memprofile writes a heap profile in the runtime/pprof format
// (gzip), and a path that cannot be created is an error before any node starts.
func TestBenchMemProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.pprof")
	runBenchCmd(t, "--nodes", "5", "--ops", "10", "--transport", "mem", "--memprofile", path)
	checkProfile(t, path)
	var stdout, stderr bytes.Buffer
	bad := filepath.Join(t.TempDir(), "missing", "heap.pprof")
	code := run(context.Background(), []string{"kad", "bench", "--progress", "0", "--nodes", "5", "--ops", "10", "--transport", "mem", "--memprofile", bad},
		strings.NewReader(""), &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "--memprofile") {
		t.Errorf("--memprofile %s: exit %d, stderr %q; want a failure naming the flag", bad, code, stderr.String())
	}
}

// TestBenchSeed checks that a seed fixes the choices of a run: two runs over mem
// with the same seed store the same number of records on the same routing tables.
func TestBenchSeed(t *testing.T) {
	a, _ := runBenchCmd(t, "--nodes", "8", "--ops", "5", "--transport", "mem", "--seed", "42", "--k", "3")
	b, _ := runBenchCmd(t, "--nodes", "8", "--ops", "5", "--transport", "mem", "--seed", "42", "--k", "3")
	if a.RoutingTableMean != b.RoutingTableMean || a.PutSequential.ReplicasMean != b.PutSequential.ReplicasMean {
		t.Errorf("same seed, different runs: tables %v and %v, replicas %v and %v",
			a.RoutingTableMean, b.RoutingTableMean, a.PutSequential.ReplicasMean, b.PutSequential.ReplicasMean)
	}
}

// TestBenchUsageErrors checks that a bad flag of `kad bench` ends it with status 2 and
// one line on stderr, as for `kad node`.
func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the stderr line
	}{
		{name: "one node", args: []string{"--nodes", "1"}, want: "--nodes 1: want 2.."},
		{name: "no nodes", args: []string{"--nodes", "0"}, want: "--nodes 0: want 2.."},
		{name: "too many nodes", args: []string{"--nodes", "1000000"}, want: "--nodes"},
		{name: "nodes not a number", args: []string{"--nodes", "many"}, want: "many"},
		{name: "no ops", args: []string{"--ops", "0"}, want: "--ops"},
		{name: "negative parallel", args: []string{"--parallel", "-1"}, want: "--parallel"},
		{name: "unknown transport", args: []string{"--transport", "tcp"}, want: `--transport "tcp"`},
		{name: "empty value", args: []string{"--value-size", "0"}, want: "--value-size"},
		{name: "value too large", args: []string{"--value-size", "1000000"}, want: "--value-size"},
		{name: "alpha over k", args: []string{"--k", "4", "--alpha", "5"}, want: "--alpha 5: want 1..K (4)"},
		{name: "zero k", args: []string{"--k", "0"}, want: "--k 0: want 1.."},
		{name: "bad seed", args: []string{"--seed", "-3"}, want: "-3"},
		{name: "no bootstrap peers", args: []string{"--bootstrap-peers", "0"}, want: "--bootstrap-peers"},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, want: "--timeout"},
		{name: "bad rpc timeout", args: []string{"--rpc-timeout", "soon"}, want: "soon"},
		{name: "negative progress", args: []string{"--progress", "-1s"}, want: "--progress"},
		{name: "unknown flag", args: []string{"--nope"}, want: "unknown flag --nope"},
		{name: "argument", args: []string{"extra"}, want: "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantUsageError(t, append([]string{"kad", "bench"}, tt.args...), tt.want)
		})
	}
}
