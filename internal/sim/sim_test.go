package sim

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"kad/internal/cluster"
	"kad/protocol"
)

// smallRun is a quick run: a few hundred nodes, a fixed latency of a few milliseconds.
func smallRun(t *testing.T, cfg Config) *Result {
	t.Helper()
	var out bytes.Buffer
	cfg.Out = &out
	cfg.LatencyModel = LatencyFixed
	cfg.Latency = 2 * time.Millisecond
	// Under the race detector, beside other packages' tests, on two cores: few joins at
	// once, and time enough for a loaded machine's round trips.
	cfg.JoinParallel = cmp.Or(cfg.JoinParallel, 8)
	cfg.RPCTimeout = cmp.Or(cfg.RPCTimeout, 10*time.Second)
	res, err := Run(t.Context(), cfg)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRun: with no kill and no loss every get finds its value, and every lookup the
// closest node, in at least one hop.
func TestRun(t *testing.T) {
	res := smallRun(t, Config{Nodes: 150, Values: 30, Lookups: 100, Seed: 3})
	for _, op := range []*Op{&res.Put, &res.Get, &res.Lookup} {
		if op.Count == 0 || op.OK != op.Count || op.Failed != 0 {
			t.Errorf("%s: %d of %d succeeded (first failure %q), want all", op.Op, op.OK, op.Count, op.FirstError)
		}
	}
	if res.Get.Count != 100 || res.Lookup.Count != 100 || res.Put.Count != 30 {
		t.Errorf("counts %d puts, %d gets, %d lookups; want 30, 100, 100", res.Put.Count, res.Get.Count, res.Lookup.Count)
	}
	if res.SuccessRate != 1 || res.Lookup.SuccessRate != 1 {
		t.Errorf("success rates %v (gets), %v (lookups); want 1", res.SuccessRate, res.Lookup.SuccessRate)
	}
	if res.Get.HopsP50 < 1 || res.Lookup.HopsP50 < 1 || res.Get.HopsP99 < res.Get.HopsP50 {
		t.Errorf("hops p50 %d (gets), %d (lookups), p99 %d; want at least 1", res.Get.HopsP50, res.Lookup.HopsP50, res.Get.HopsP99)
	}
	if res.Get.HopsHistogram[0] != res.Get.Local {
		t.Errorf("%d gets of 0 hops, %d local", res.Get.HopsHistogram[0], res.Get.Local)
	}
	if res.PublicPrivate != 0 {
		// With no NAT every node is public; one that found itself private withdrew from
		// every table, and the lookups for it miss it.
		t.Errorf("%d nodes found themselves private", res.PublicPrivate)
	}
	if res.JoinFailed != 0 || res.Live != 150 || res.RoutingTableMean < float64(res.K) {
		t.Errorf("%d joins failed, %d live, %.1f contacts per table", res.JoinFailed, res.Live, res.RoutingTableMean)
	}
	if res.Get.RPCsMean < 1 || res.Lookup.RPCsMean < float64(res.K) {
		t.Errorf("RPCs per lookup %.1f (gets), %.1f (lookups)", res.Get.RPCsMean, res.Lookup.RPCsMean)
	}
	if res.HeapPerNodeBytes <= 0 || res.MessagesSent == 0 || res.MessagesLost != 0 {
		t.Errorf("heap per node %v, %d messages, %d lost", res.HeapPerNodeBytes, res.MessagesSent, res.MessagesLost)
	}
	if len(res.Timeline) != 0 || res.SuccessMin != nil {
		t.Errorf("no scenario, yet %d samples (least success %v)", len(res.Timeline), res.SuccessMin)
	}
	checkPlot(t, res) // with no timeline to draw
}

// TestKill: after a quarter of the nodes die at once, the k replicas keep every value
// findable, while the survivors run their maintenance and after, and lookups run into
// the dead contacts left in the routing tables.
func TestKill(t *testing.T) {
	res := smallRun(t, Config{Nodes: 200, Values: 20, Lookups: 100, Seed: 4, Kill: 0.25, RPCTimeout: time.Second,
		Maintain: 2 * time.Second, TimeScale: 60, Sample: 40 * time.Second, SampleGets: 30})
	if res.Killed != 50 || res.Live != 150 {
		t.Fatalf("%d killed, %d live; want 50 and 150", res.Killed, res.Live)
	}
	// 2 s at 60 times is two simulated minutes: three samples.
	if len(res.Timeline) != 3 || res.SuccessMin == nil || *res.SuccessMin < 0.95 {
		t.Errorf("%d samples during the maintenance, least success %v; want 3, at least 0.95", len(res.Timeline), res.SuccessMin)
	}
	for _, sm := range res.Timeline {
		if sm.Live != 150 || sm.Left != 0 {
			t.Errorf("sample %+v: want 150 live, none left with the churn", sm)
		}
	}
	if res.Get.OK != res.Get.Count {
		t.Errorf("%d of %d gets found their value (first failure %q), want all", res.Get.OK, res.Get.Count, res.Get.FirstError)
	}
	if res.Lookup.TimeoutsMean == 0 {
		t.Error("no lookup gave up on a request: the dead nodes left no trace in the tables")
	}
}

// TestNAT: hosts behind a NAT join (they speak first), and the NAT refuses the requests
// of those they did not speak to.
func TestNAT(t *testing.T) {
	res := smallRun(t, Config{Nodes: 80, Values: 10, Lookups: 50, Seed: 5, NAT: 0.3, RPCTimeout: time.Second})
	if res.NATHosts < 12 || res.NATHosts > 36 {
		t.Errorf("%d of 80 hosts behind a NAT, want about 24", res.NATHosts)
	}
	if res.JoinFailed != 0 {
		t.Errorf("%d joins failed (%s)", res.JoinFailed, res.JoinFirstError)
	}
	if res.MessagesFiltered == 0 {
		t.Error("no request was refused by a NAT")
	}
	if res.Lookup.SuccessPublic == 0 {
		t.Error("success_public not reported")
	}
	// The nodes check their reachability. Here every NAT'd node has just sent to nearly
	// every other, so their dial-backs come in through the NAT and settle nothing
	// (node's TestReachabilityBehindNAT and SIMULATION.md show them settled); but no
	// node outside a NAT may find itself private, and every live NAT'd node is counted.
	if res.PublicPrivate != 0 || res.NATPrivate+res.NATUnresolved != res.NATHosts {
		t.Errorf("reachability: %d public nodes found private (want 0); %d + %d NAT'd counted, want %d",
			res.PublicPrivate, res.NATPrivate, res.NATUnresolved, res.NATHosts)
	}
}

func TestClosest(t *testing.T) {
	var ids []protocol.ID
	for i := range 200 {
		var id protocol.ID
		id[0], id[1], id[19] = byte(i*37), byte(i), byte(i*11)
		ids = append(ids, id)
	}
	target := protocol.KeyFromString("target")
	want := slices.Clone(ids)
	slices.SortFunc(want, target.CmpDistance)
	none := protocol.MustParseID("ffffffffffffffffffffffffffffffffffffffff") // not among ids
	for _, k := range []int{1, 3, 20, 200, 300} {
		if got := closest(ids, target, none, k); !slices.Equal(got, want[:min(k, len(want))]) {
			t.Errorf("k %d: got %d IDs, not the %d closest", k, len(got), min(k, len(want)))
		}
	}
	if got := closest(ids, target, want[0], 2); !slices.Equal(got, want[1:3]) {
		t.Errorf("skipping the closest: got %v, want %v", got, want[1:3])
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	tests := []struct {
		name  string
		cfg   Config
		field string // of Config, named by the error
	}{
		{name: "one node", cfg: Config{Nodes: 1}, field: "Nodes"},
		{name: "too many nodes", cfg: Config{Nodes: MaxNodes + 1}, field: "Nodes"},
		{name: "values", cfg: Config{Values: -1}, field: "Values"},
		{name: "lookups", cfg: Config{Lookups: MaxLookups + 1}, field: "Lookups"},
		{name: "latency model", cfg: Config{LatencyModel: "moon"}, field: "LatencyModel"},
		{name: "latency", cfg: Config{Latency: -time.Second}, field: "Latency"},
		{name: "loss", cfg: Config{Loss: 1.5}, field: "Loss"},
		{name: "nat", cfg: Config{NAT: -0.1}, field: "NAT"},
		{name: "kill all", cfg: Config{Nodes: 10, Kill: 0.9}, field: "Kill"},
		{name: "maintain", cfg: Config{Maintain: MaxMaintain + 1}, field: "Maintain"},
		{name: "time scale", cfg: Config{TimeScale: 0.5}, field: "TimeScale"},
		{name: "join parallel", cfg: Config{JoinParallel: MaxJoinParallel + 1}, field: "JoinParallel"},
		{name: "join peers", cfg: Config{JoinPeers: -1}, field: "JoinPeers"},
		{name: "parallel", cfg: Config{Parallel: -2}, field: "Parallel"},
		{name: "k", cfg: Config{K: 1000}, field: "K"},
		{name: "alpha", cfg: Config{K: 2, Alpha: 3}, field: "Alpha"},
		{name: "rpc timeout", cfg: Config{RPCTimeout: -time.Second}, field: "RPCTimeout"},
		{name: "churn without duration", cfg: Config{ChurnMedian: time.Hour}, field: "Duration"},
		{name: "churn median", cfg: Config{ChurnMedian: -time.Hour, Duration: time.Hour}, field: "ChurnMedian"},
		{name: "churn too fast", cfg: Config{Nodes: 1000, ChurnMedian: time.Nanosecond, Duration: time.Hour}, field: "ChurnMedian"},
		{name: "churn shape", cfg: Config{ChurnShape: 11}, field: "ChurnShape"},
		{name: "duration", cfg: Config{Duration: MaxDuration + 1}, field: "Duration"},
		{name: "partition everyone", cfg: Config{Nodes: 10, Partition: 1, PartitionFor: time.Hour}, field: "Partition"},
		{name: "partition nobody", cfg: Config{Nodes: 10, Partition: 0.05, PartitionFor: time.Hour}, field: "Partition"},
		{name: "partition forever", cfg: Config{Partition: 0.5}, field: "PartitionFor"},
		{name: "partition past the end", cfg: Config{Partition: 0.5, PartitionFor: 2 * time.Hour, Duration: time.Hour}, field: "PartitionFor"},
		{name: "too many samples", cfg: Config{Duration: 24 * time.Hour, Sample: time.Second}, field: "Sample"},
		{name: "sample past the end", cfg: Config{Duration: time.Hour, Sample: 2 * time.Hour}, field: "Sample"},
		{name: "sample gets", cfg: Config{SampleGets: -1}, field: "SampleGets"},
		{name: "adversarial", cfg: Config{Adversarial: 1.1}, field: "Adversarial"},
		{name: "adversarial everyone", cfg: Config{Nodes: 10, Adversarial: 0.9}, field: "Adversarial"},
		{name: "disjoint paths", cfg: Config{K: 4, DisjointPaths: 5}, field: "DisjointPaths"},
		{name: "negative disjoint paths", cfg: Config{DisjointPaths: -1}, field: "DisjointPaths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Errorf("Validate() = %v, want a *ConfigError naming %s", err, tt.field)
			}
			if _, rerr := Run(context.Background(), tt.cfg); rerr == nil {
				t.Errorf("Run accepted %+v", tt.cfg)
			}
		})
	}
}

// TestOverMemory: a run that holds more memory than allowed stops with ErrOverMemory
// instead of taking the machine down.
func TestOverMemory(t *testing.T) {
	_, err := Run(t.Context(), Config{Nodes: 50, Values: 5, Lookups: 5, MaxMemory: 1 << 20,
		LatencyModel: LatencyFixed, Latency: 2 * time.Millisecond})
	if !errors.Is(err, ErrOverMemory) {
		t.Fatalf("Run = %v, want ErrOverMemory", err)
	}
}

// TestJoinWindow: the number of joins at once halves when the CPUs are saturated, down
// to its floor, and grows back when they are idle, up to its bound.
func TestJoinWindow(t *testing.T) {
	w := newJoinWindow(100)
	start := w.limit()
	if w.adjust(0) || w.limit() != start/2 {
		t.Fatalf("saturated: window %d, want %d", w.limit(), start/2)
	}
	for range 10 {
		w.adjust(0)
	}
	if w.limit() != joinWindowMin {
		t.Fatalf("saturated for long: window %d, want the floor %d", w.limit(), joinWindowMin)
	}
	if !w.adjust(0.5) || w.limit() != joinWindowMin+joinWindowStep {
		t.Fatalf("idle: window %d, want %d", w.limit(), joinWindowMin+joinWindowStep)
	}
	w.adjust(0.1) // between the thresholds: unchanged
	if w.limit() != joinWindowMin+joinWindowStep {
		t.Fatalf("half busy: window %d changed", w.limit())
	}
	for range 20 {
		w.adjust(1)
	}
	if w.limit() != 100 {
		t.Fatalf("idle for long: window %d, want the bound 100", w.limit())
	}
}

// TestKnownBy: knownBy counts, for each ID, the live nodes whose tables hold it. In a
// cluster of five where every table holds every other node, a node is known by four; an
// ID no node has is known by none; a node not counted live adds no holders. unknown
// counts the nodes no table holds.
func TestKnownBy(t *testing.T) {
	c := cluster.New(t, 5, cluster.Options{Join: cluster.JoinFirst})
	s := &sim{nodes: c.Nodes, live: []int{0, 1, 2, 3, 4}}
	for _, n := range c.Nodes {
		if got := len(n.Contacts()); got != 4 {
			t.Fatalf("node %s holds %d contacts, want the other 4", n.ID().Short(), got)
		}
	}
	stranger := protocol.RandomID(nil)
	if got := s.knownBy([]protocol.ID{c.Nodes[0].ID(), stranger}); got != 2 {
		t.Errorf("known by %v on average, want (4 + 0) / 2", got)
	}
	s.live = []int{0, 1, 2}
	if got := s.knownBy([]protocol.ID{c.Nodes[4].ID()}); got != 3 {
		t.Errorf("known by %v live nodes, want 3", got)
	}
	if got := s.unknown(); got != 0 {
		t.Errorf("%d nodes in no table, want 0", got)
	}
	alone := cluster.New(t, 1, cluster.Options{Seed: 99}).Nodes[0] // in a network of its own, with another ID
	s.nodes = append(s.nodes, alone, nil)
	if got := s.unknown(); got != 1 {
		t.Errorf("%d nodes in no table with one that joined no one, want 1", got)
	}
}
