package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"kad/internal/figures"
	"kad/protocol"
)

// The operations a run measures.
const (
	opPut    = "put"
	opGet    = "get"
	opLookup = "lookup"
)

// Result is every figure of one run. Its JSON field names are stable: scripts read them
// from the last line `kad sim` prints. Latencies are in milliseconds, other durations
// in seconds, sizes in bytes. The figures at the top level are those of the gets.
type Result struct {
	Nodes        int     `json:"nodes"`
	Values       int     `json:"values"`
	Lookups      int     `json:"lookups"`
	Seed         uint64  `json:"seed"`
	K            int     `json:"k"`
	Alpha        int     `json:"alpha"`
	LatencyModel string  `json:"latency_model"`
	LatencyMS    float64 `json:"latency_ms"` // one-way, with the fixed model
	Loss         float64 `json:"loss"`
	NAT          float64 `json:"nat"`
	NATTimeoutS  float64 `json:"nat_timeout_s"`
	Kill         float64 `json:"kill"`
	MaintainS    float64 `json:"maintain_s"`
	// The scenario's churn, partition and timeline (simulated seconds).
	ChurnMedianS  float64 `json:"churn_median_s"`
	ChurnShape    float64 `json:"churn_shape"`
	DurationS     float64 `json:"duration_s"`
	Partition     float64 `json:"partition"`
	PartitionForS float64 `json:"partition_for_s"`
	SampleS       float64 `json:"sample_s"`
	SampleGets    int     `json:"sample_gets"`
	// ScenarioS is the scenario's simulated length, and RecordTTLS the records' life
	// (Config.Duration explains why it may be longer than tExpire).
	ScenarioS    float64 `json:"scenario_s"`
	RecordTTLS   float64 `json:"record_ttl_s"`
	TimeScale    float64 `json:"time_scale"`
	JoinParallel int     `json:"join_parallel"`
	JoinPeers    int     `json:"join_peers"`
	Parallel     int     `json:"parallel"`
	RateLimit    bool    `json:"rate_limit"`
	RPCTimeoutMS float64 `json:"rpc_timeout_ms"`
	// Adversarial is the fraction of adversarial nodes asked for, Adversaries how many
	// there were, and DisjointPaths the honest nodes' node.Config.DisjointPaths.
	Adversarial   float64 `json:"adversarial"`
	Adversaries   int     `json:"adversaries"`
	DisjointPaths int     `json:"disjoint_paths"`
	GoVersion     string  `json:"go_version"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	// Log2Nodes is log2(Nodes), the paper's bound on a lookup's hops.
	Log2Nodes float64 `json:"log2_nodes"`

	// The gets' figures, repeated from Get for scripts.
	SuccessRate  float64 `json:"success_rate"`
	HopsP50      int     `json:"hops_p50"`
	HopsP90      int     `json:"hops_p90"`
	HopsP99      int     `json:"hops_p99"`
	RPCsMean     float64 `json:"rpcs_mean"`
	TimeoutsMean float64 `json:"timeouts_mean"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP90MS float64 `json:"latency_p90_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`

	Put    Op `json:"put"`
	Get    Op `json:"get"`
	Lookup Op `json:"lookup"`

	// Timeline is the rounds of gets during the scenario, in time order; SuccessMin
	// the least success rate among them, absent without a timeline.
	Timeline   []Sample `json:"timeline"`
	SuccessMin *float64 `json:"success_min,omitempty"`

	// The network: hosts behind a NAT (newcomers included), nodes killed at once, and
	// nodes up and joined after the scenario (honest ones only, with adversaries).
	NATHosts int `json:"nat_hosts"`
	// The reachability checks, as they stood before the gets (Reachability, the mode):
	// NAT'd live nodes that found themselves private (and run as clients), NAT'd ones
	// that did not, and nodes not behind a NAT that found themselves private.
	Reachability  string `json:"reachability"`
	NATPrivate    int    `json:"nat_private"`
	NATUnresolved int    `json:"nat_unresolved"`
	PublicPrivate int    `json:"public_private"`
	Killed        int    `json:"killed"`
	Live          int    `json:"live"`
	// The churn, during the scenario: nodes that left, nodes that joined in their place,
	// those whose every Bootstrap failed, and those still joining or waiting for their
	// turn when it ended (up, but not counted live); and the nodes split off by the
	// partition.
	Left            int `json:"left"`
	Joined          int `json:"joined"`
	ChurnJoinFailed int `json:"churn_join_failed"`
	ChurnJoining    int `json:"churn_joining"`
	Split           int `json:"split"`
	// ChurnJoinP50MS and P99 are the newcomers' times from arriving to joined, their
	// wait for one of the JoinParallel joins at once included. ScheduleLagMaxS is how
	// late, in wall seconds, the scenario applied its most delayed action: more than a
	// fraction of a second means the machine could not keep up with the time scale.
	ChurnJoinP50MS  float64 `json:"churn_join_p50_ms"`
	ChurnJoinP99MS  float64 `json:"churn_join_p99_ms"`
	ScheduleLagMaxS float64 `json:"schedule_lag_max_s"`
	// leavers are the IDs of the nodes that left with the churn, in order.
	leavers []protocol.ID

	// What the network did with the messages of the whole run.
	MessagesSent     uint64 `json:"messages_sent"`
	MessagesLost     uint64 `json:"messages_lost"`
	MessagesFiltered uint64 `json:"messages_filtered"` // requests a NAT refused
	// RequestsDropped counts requests dropped on arrival because the node was already
	// handling mem.DefaultMaxConcurrent of them, as a full socket buffer drops them.
	RequestsDropped uint64 `json:"requests_dropped"`

	// The build: every node started and joined.
	BuildS       float64 `json:"build_s"`
	BuildCPUS    float64 `json:"build_cpu_s"`
	BuildCPUIdle float64 `json:"build_cpu_idle"`
	JoinFailed   int     `json:"join_failed"`  // nodes whose every Bootstrap failed
	JoinRetried  int     `json:"join_retried"` // Bootstraps that failed and were tried again
	// JoinWindowMean and JoinWindowMin are the mean and least number of joins let run
	// at once, which follows the CPUs' idle share up to JoinParallel.
	JoinWindowMean   float64 `json:"join_window_mean"`
	JoinWindowMin    int     `json:"join_window_min"`
	JoinFirstError   string  `json:"join_first_error,omitempty"`
	JoinP50MS        float64 `json:"join_p50_ms"`
	JoinP99MS        float64 `json:"join_p99_ms"`
	JoinRPCsMean     float64 `json:"join_rpcs_mean"`
	RoutingTableMean float64 `json:"routing_table_mean"`
	// Unknown counts the nodes that joined yet are in no other node's routing table after
	// the build: no lookup can reach them.
	Unknown int `json:"unknown"`
	// Per node after the build, idle, the process before the nodes subtracted.
	HeapPerNodeBytes  float64 `json:"heap_per_node_bytes"`
	RSSPerNodeBytes   float64 `json:"rss_per_node_bytes"`
	GoroutinesPerNode float64 `json:"goroutines_per_node"`
	// Heap per node after the gets and lookups, the records stored.
	HeapPerNodeAfterBytes float64 `json:"heap_per_node_after_bytes"`

	// CPUIdle is the fraction of the process's CPUs (wall time × GOMAXPROCS) left
	// unused through the measured phases (the gets and the lookups), CPUIdleMin that of
	// their least idle second, and HostIdle the host's idle fraction over them (-1
	// where it cannot be read). Figures measured with CPUIdle under 0.3 may include
	// time spent waiting for a CPU.
	CPUIdle    float64 `json:"cpu_idle"`
	CPUIdleMin float64 `json:"cpu_idle_min"`
	HostIdle   float64 `json:"host_idle"`
	// The whole run, and the most goroutines it had at once (read every second).
	GoroutinesMax int     `json:"goroutines_max"`
	WallS         float64 `json:"wall_s"`
	CPUS          float64 `json:"cpu_s"`
}

// Sample is one round of gets during the scenario: SampleGets gets of stored keys,
// each from a random live node. A get whose caller left before it returned is not
// counted. Live counts the nodes up and joined; Joined and Left the churn so far.
type Sample struct {
	AtS          float64 `json:"at_s"` // simulated seconds since the scenario began
	Live         int     `json:"live"`
	Joined       int     `json:"joined"`
	Left         int     `json:"left"`
	Gets         int     `json:"gets"`
	OK           int     `json:"ok"`
	SuccessRate  float64 `json:"success_rate"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP90MS float64 `json:"latency_p90_ms"`
	// During a partition: the gets from the nodes split off, and the cross gets, of keys
	// that no live node on the caller's side held when the round began, whose only
	// copies are across the cut, that returned before the network healed.
	Partitioned bool `json:"partitioned,omitempty"`
	SplitGets   int  `json:"split_gets,omitempty"`
	SplitOK     int  `json:"split_ok,omitempty"`
	CrossGets   int  `json:"cross_gets,omitempty"`
	CrossOK     int  `json:"cross_ok,omitempty"`
	// WallS is the round's real duration.
	WallS float64 `json:"wall_s"`
}

// Op is the figures of one operation run Count times. Hops, latency and rounds are of
// the successful operations; RPCs and timeouts of every lookup the operations ran.
type Op struct {
	Op          string  `json:"op"` // put, get or lookup
	Count       int     `json:"count"`
	OK          int     `json:"ok"`
	Failed      int     `json:"failed"`
	SuccessRate float64 `json:"success_rate"`
	// Local counts the gets answered from the caller's own store, without a lookup;
	// their hops are 0.
	Local int `json:"local"`
	// Hops is the referral depth at which the value, or the closest node that
	// answered, was found (node.LookupTrace.Hops); HopsHistogram[h] counts the
	// operations of h hops.
	HopsP50       int     `json:"hops_p50"`
	HopsP90       int     `json:"hops_p90"`
	HopsP99       int     `json:"hops_p99"`
	HopsMean      float64 `json:"hops_mean"`
	HopsHistogram []int   `json:"hops_histogram"`
	RoundsMean    float64 `json:"rounds_mean"`
	RPCsMean      float64 `json:"rpcs_mean"`
	TimeoutsMean  float64 `json:"timeouts_mean"`
	// Latency is the wall time of the operation: the simulated network's delays are
	// real timers.
	LatencyP50MS  float64 `json:"latency_p50_ms"`
	LatencyP90MS  float64 `json:"latency_p90_ms"`
	LatencyP99MS  float64 `json:"latency_p99_ms"`
	LatencyMeanMS float64 `json:"latency_mean_ms"`
	LatencyMaxMS  float64 `json:"latency_max_ms"`
	// ClosestFound is, for lookups, the mean fraction of the true k closest live nodes
	// that the lookup returned.
	ClosestFound float64 `json:"closest_found,omitempty"`
	// SuccessPublic is, for lookups in a network with NAT'd hosts, the fraction whose
	// contacts hold the live node closest to the target of those not behind a NAT.
	SuccessPublic float64 `json:"success_public,omitempty"`
	// MissedSlow counts, for lookups with the internet model, those that missed the
	// closest node when it is one of the model's slow hosts, whose replies may come
	// after RPCTimeout.
	MissedSlow int `json:"missed_slow,omitempty"`
	// MissedKnownBy is, for lookups that missed the closest node, the mean number of
	// live nodes whose routing tables held that node when the lookups were judged: a
	// node few tables hold is one lookups cannot reach. Nil when none missed it.
	MissedKnownBy *float64 `json:"missed_known_by,omitempty"`
	// ReplicasMean is, for puts, the mean number of nodes that stored the value. With
	// adversaries, whose STORED is a lie, HonestReplicasMean is the mean number of
	// honest nodes that hold it after the puts, and Unheld counts the values no honest
	// node holds.
	ReplicasMean       float64 `json:"replicas_mean,omitempty"`
	HonestReplicasMean float64 `json:"honest_replicas_mean,omitempty"`
	Unheld             int     `json:"unheld,omitempty"`
	// The phase's wall time and CPU: see Result.CPUIdle.
	WallS      float64 `json:"wall_s"`
	CPUS       float64 `json:"cpu_s"`
	CPUIdle    float64 `json:"cpu_idle"`
	CPUIdleMin float64 `json:"cpu_idle_min"`
	HostIdle   float64 `json:"host_idle"`
	FirstError string  `json:"first_error,omitempty"`
	// latencies are those of the successful operations, sorted, for the plot.
	latencies []time.Duration
}

// outcome is what one operation did.
type outcome struct {
	err      error
	took     time.Duration
	traced   bool // a lookup ran and reported its trace
	hops     int
	rounds   int
	rpcs     int
	timeouts int
	local    bool    // a get answered from the caller's own store
	replicas int     // a put's count of nodes that stored the value
	closest  float64 // a lookup's fraction of the true k closest found
}

// summarize fills in op's figures from the outcomes of its operations.
func (op *Op) summarize(outs []outcome) {
	op.Count = len(outs)
	var lat []time.Duration
	var hops []int
	var traced, rpcs, timeouts, rounds, replicas int
	var closest float64
	for _, o := range outs {
		if o.traced {
			traced++
			rpcs += o.rpcs
			timeouts += o.timeouts
		}
		if o.err != nil {
			op.Failed++
			if op.FirstError == "" {
				op.FirstError = o.err.Error()
			}
			continue
		}
		op.OK++
		lat = append(lat, o.took)
		hops = append(hops, o.hops)
		rounds += o.rounds
		replicas += o.replicas
		closest += o.closest
		if o.local {
			op.Local++
		}
	}
	op.SuccessRate = figures.Ratio(float64(op.OK), float64(op.Count))
	op.RPCsMean = figures.Ratio(float64(rpcs), float64(traced))
	op.TimeoutsMean = figures.Ratio(float64(timeouts), float64(traced))
	op.RoundsMean = figures.Ratio(float64(rounds), float64(op.OK))
	if op.Op == opPut {
		op.ReplicasMean = figures.Ratio(float64(replicas), float64(op.OK))
	}
	if op.Op == opLookup {
		op.ClosestFound = figures.Ratio(closest, float64(op.OK))
	}
	slices.Sort(hops)
	op.HopsP50 = figures.Percentile(hops, 0.50)
	op.HopsP90 = figures.Percentile(hops, 0.90)
	op.HopsP99 = figures.Percentile(hops, 0.99)
	op.HopsHistogram = []int{}
	sum := 0
	for _, h := range hops {
		sum += h
		for len(op.HopsHistogram) <= h {
			op.HopsHistogram = append(op.HopsHistogram, 0)
		}
		op.HopsHistogram[h]++
	}
	op.HopsMean = figures.Ratio(float64(sum), float64(len(hops)))
	l := figures.Summarize(lat) // sorts lat
	op.latencies = lat
	op.LatencyP50MS, op.LatencyP90MS, op.LatencyP99MS = ms(l.P50), ms(l.P90), ms(l.P99)
	op.LatencyMaxMS, op.LatencyMeanMS = ms(l.Max), ms(l.Mean)
}

// setCPU records the phase's wall time and CPU use.
func (op *Op) setCPU(u figures.CPUUsage, idleMin float64) {
	op.WallS, op.CPUS = u.Wall.Seconds(), u.Process.Seconds()
	op.CPUIdle, op.CPUIdleMin, op.HostIdle = u.Idle, idleMin, u.HostIdle
}

// JSON returns the result as one line of JSON, without a newline.
func (r *Result) JSON() ([]byte, error) { return json.Marshal(r) }

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMS writes milliseconds the way people read them.
func fmtMS(v float64) string { return figures.Micros(v * 1000) }

func writeTableHeader(w io.Writer) {
	fmt.Fprintf(w, "%-36s %-14s %-15s %s\n", "", "hops", "per lookup", "latency")
	fmt.Fprintf(w, "%-6s %6s %6s %8s %6s  %4s %4s %4s  %6s %8s  %9s %9s %9s %6s\n", "op", "count", "ok", "success", "local",
		"p50", "p90", "p99", "rpcs", "timeouts", "p50", "p90", "p99", "idle")
}

func writeTableRow(w io.Writer, op *Op) {
	fmt.Fprintf(w, "%-6s %6d %6d %7.2f%% %6d  %4d %4d %4d  %6.1f %8.2f  %9s %9s %9s %5.0f%%\n",
		op.Op, op.Count, op.OK, 100*op.SuccessRate, op.Local, op.HopsP50, op.HopsP90, op.HopsP99,
		op.RPCsMean, op.TimeoutsMean, fmtMS(op.LatencyP50MS), fmtMS(op.LatencyP90MS), fmtMS(op.LatencyP99MS),
		100*op.CPUIdle)
	switch op.Op {
	case opPut:
		fmt.Fprintf(w, "       stored on %.1f nodes on average\n", op.ReplicasMean)
	case opLookup:
		fmt.Fprintf(w, "       %.1f%% of the true k closest live nodes found on average\n", 100*op.ClosestFound)
		if op.SuccessPublic > 0 {
			fmt.Fprintf(w, "       %.2f%% found the closest live node not behind a NAT\n", 100*op.SuccessPublic)
		}
		if op.MissedSlow > 0 {
			fmt.Fprintf(w, "       %d of the %d lookups that missed the closest node missed a slow host\n", op.MissedSlow, op.Failed)
		}
		if op.MissedKnownBy != nil {
			fmt.Fprintf(w, "       the closest nodes missed were in %.1f routing tables on average\n", *op.MissedKnownBy)
		}
	}
	if op.FirstError != "" {
		fmt.Fprintf(w, "       first failure: %s\n", op.FirstError)
	}
}
