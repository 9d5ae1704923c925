package sim

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"kad/internal/churn"
	"kad/internal/cluster"
	"kad/internal/figures"
	"kad/node"
	"kad/protocol"
	"kad/store"
	"kad/transports"
	"kad/transports/mem"
	"kad/transports/mem/internet"
)

// joinAttempts is how many times a node tries Bootstrap before it counts as not joined:
// with loss, every ping to its join peers may be lost.
const joinAttempts = 3

// idleSettle bounds the wait for the goroutines of the build to end before the idle
// network's memory is measured.
const idleSettle = 5 * time.Second

// minIdle is the CPU idle fraction under which a phase's latencies may include time
// spent waiting for a CPU rather than for the simulated network.
const minIdle = 0.3

// sim is one run.
type sim struct {
	cfg Config
	rng *rand.Rand // used by one goroutine, between phases
	res *Result

	nw    *mem.Network
	model *internet.Model // nil with the fixed latency model
	c     *cluster.Cluster
	// By node index, long enough for the nodes the churn will start: written once, for
	// node i before i is handed to another goroutine (through the live set).
	nodes  []*node.Node
	natted []bool
	mems   []*mem.Transport
	stores []*store.Memory
	traces traces
	events []churn.Event // the churn schedule

	// adversarial marks the adversarial nodes by index (Config.Adversarial), honest
	// lists the others among the first Nodes, and adv is the adversaries up.
	adversarial []bool
	honest      []int
	adv         adversaries

	keys []protocol.ID // stored: their put succeeded
	live []int         // the nodes up and joined after the scenario, in index order

	world   world     // who is up during the scenario
	joinErr sync.Once // guards Result.JoinFirstError
	// The newcomers' joins: at most JoinParallel at once (joinSem), stopped by
	// stopJoins.
	joins     sync.WaitGroup
	joinSem   chan struct{}
	joinCtx   context.Context
	stopJoins context.CancelFunc
}

// Run builds the network cfg describes out of real nodes, joins them, stores the values,
// applies the scenario, measures the gets and node lookups, writes the table to cfg.Out
// as it goes, closes every node and returns the figures. It fails if cfg is invalid, if
// the network cannot be built, or if ctx ends; failed operations are counted, not
// returned.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := figures.ReadCPU()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// fail returns err, or why the watchdog stopped the run.
	fail := func(err error) (*Result, error) {
		if cause := context.Cause(ctx); ctx.Err() != nil && cause != nil {
			return nil, cause
		}
		return nil, err
	}
	s := &sim{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed^0x2545f4914f6cdd1d, cfg.Seed)),
		res: &Result{
			Nodes: cfg.Nodes, Values: cfg.Values, Lookups: cfg.Lookups, Seed: cfg.Seed,
			K: cfg.K, Alpha: cfg.Alpha, LatencyModel: cfg.LatencyModel, Loss: cfg.Loss,
			NAT: cfg.NAT, NATTimeoutS: cfg.NATTimeout.Seconds(), Kill: cfg.Kill,
			MaintainS: cfg.Maintain.Seconds(), TimeScale: cfg.TimeScale,
			ChurnMedianS: cfg.ChurnMedian.Seconds(), ChurnShape: cfg.ChurnShape, DurationS: cfg.Duration.Seconds(),
			Partition: cfg.Partition, PartitionForS: cfg.PartitionFor.Seconds(), SampleS: cfg.Sample.Seconds(),
			SampleGets: cfg.SampleGets, ScenarioS: cfg.scenarioLength().Seconds(), RecordTTLS: cfg.recordTTL().Seconds(),
			Timeline:     []Sample{},
			JoinParallel: cfg.JoinParallel, JoinPeers: cfg.JoinPeers, Parallel: cfg.Parallel, RateLimit: !cfg.NoRateLimit,
			RPCTimeoutMS: ms(cfg.RPCTimeout), GoVersion: runtime.Version(),
			Adversarial: cfg.Adversarial, Adversaries: cfg.adversaries(), DisjointPaths: cfg.DisjointPaths,
			Reachability: cfg.Reachability.String(),
			GOMAXPROCS:   runtime.GOMAXPROCS(0), Log2Nodes: math.Log2(float64(cfg.Nodes)),
		},
	}
	if cfg.LatencyModel == LatencyFixed {
		s.res.LatencyMS = ms(cfg.Latency)
	}
	if s.events, err = cfg.schedule(); err != nil {
		return nil, err
	}
	s.writeHeader()
	base := figures.ReadMemory()
	wd := startWatchdog(cfg.MaxMemory, cancel)
	defer func() {
		most := wd.stop()
		if res != nil {
			res.GoroutinesMax = most
		}
	}()
	defer func() {
		if s.c == nil {
			return
		}
		if cerr := s.c.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if res != nil {
			u := figures.ReadCPU().Since(start)
			res.WallS, res.CPUS = u.Wall.Seconds(), u.Process.Seconds()
			fmt.Fprintf(cfg.Out, "\nsimulation: %s of wall time, %s of CPU\n",
				u.Wall.Round(time.Millisecond), u.Process.Round(time.Millisecond))
		}
	}()

	s.joinSem = make(chan struct{}, cfg.JoinParallel)
	s.joinCtx, s.stopJoins = context.WithCancel(ctx)
	defer func() { // before the nodes close
		s.stopJoins()
		s.joins.Wait()
	}()
	if err := s.build(ctx); err != nil {
		return fail(err)
	}
	figures.Settle(idleSettle)
	s.writeJoins()
	idle := figures.ReadMemory()
	if err := figures.WriteHeapProfile(cfg.HeapProfile); err != nil {
		return fail(err)
	}
	s.res.HeapPerNodeBytes = figures.PerNode(idle.Heap, base.Heap, cfg.Nodes)
	s.res.RSSPerNodeBytes = figures.PerNode(idle.RSS, base.RSS, cfg.Nodes)
	s.res.GoroutinesPerNode = float64(idle.Goroutines-base.Goroutines) / float64(cfg.Nodes)
	fmt.Fprintf(cfg.Out, "memory: heap %s, RSS %s, %.1f goroutines per idle node\n",
		figures.Bytes(s.res.HeapPerNodeBytes), figures.Bytes(s.res.RSSPerNodeBytes), s.res.GoroutinesPerNode)

	fmt.Fprintln(cfg.Out)
	writeTableHeader(cfg.Out)
	if err := s.puts(ctx); err != nil {
		return fail(err)
	}
	writeTableRow(cfg.Out, &s.res.Put)
	if s.res.Adversaries > 0 {
		fmt.Fprintf(cfg.Out, "       %.1f of them honest on average; %d values held by no honest node\n",
			s.res.Put.HonestReplicasMean, s.res.Put.Unheld)
	}
	if err := s.scenario(ctx); err != nil {
		return fail(err)
	}
	s.countReachability()
	if err := s.gets(ctx); err != nil {
		return fail(err)
	}
	writeTableRow(cfg.Out, &s.res.Get)
	if err := s.lookups(ctx); err != nil {
		return fail(err)
	}
	writeTableRow(cfg.Out, &s.res.Lookup)
	s.setIdle(&s.res.Get, &s.res.Lookup)

	after := figures.ReadMemory()
	s.res.HeapPerNodeAfterBytes = figures.PerNode(after.Heap, base.Heap, cfg.Nodes)
	st := s.nw.Stats()
	s.res.MessagesSent, s.res.MessagesLost, s.res.MessagesFiltered = st.Sent, st.Lost, st.Filtered
	for _, t := range s.mems {
		if t != nil {
			s.res.RequestsDropped += t.Dropped()
		}
	}
	s.setHeadline()
	s.writeSummary()
	return s.res, nil
}

// countReachability counts what the live nodes' reachability checks found, and says it
// when there are NAT'd hosts.
func (s *sim) countReachability() {
	for _, i := range s.live {
		private := s.nodes[i].Reachability() == node.ReachPrivate
		switch {
		case s.natted[i] && private:
			s.res.NATPrivate++
		case s.natted[i]:
			s.res.NATUnresolved++
		case private:
			s.res.PublicPrivate++
		}
	}
	if s.res.NATHosts > 0 {
		fmt.Fprintf(s.cfg.Out, "reachability %s: %d live NAT'd nodes found themselves private, %d did not; %d not behind a NAT found themselves private\n",
			s.res.Reachability, s.res.NATPrivate, s.res.NATUnresolved, s.res.PublicPrivate)
	}
}

// network makes the mem network of cfg's latency model.
func (s *sim) network() (*mem.Network, error) {
	if s.cfg.LatencyModel == LatencyFixed {
		return mem.NewNetwork(mem.Options{Latency: s.cfg.Latency, Loss: s.cfg.Loss, Seed: s.cfg.Seed})
	}
	loss := s.cfg.Loss
	if loss == 0 {
		loss = -1 // the model's way to say none
	}
	m, err := internet.New(internet.Options{Seed: s.cfg.Seed, Loss: loss})
	if err != nil {
		return nil, err
	}
	s.model = m
	return mem.NewNetwork(mem.Options{Model: m, Seed: s.cfg.Seed})
}

// build starts every node, puts the chosen hosts behind their NAT, and joins them.
func (s *sim) build(ctx context.Context) error {
	n := s.cfg.Nodes
	start := figures.ReadCPU()
	nw, err := s.network()
	if err != nil {
		return err
	}
	s.nw = nw
	total := n + len(s.events)
	s.nodes = make([]*node.Node, total)
	s.natted = make([]bool, total)
	s.mems = make([]*mem.Transport, total)
	s.stores = make([]*store.Memory, total)
	for i := 1; i < n; i++ {
		if s.rng.Float64() < s.cfg.NAT {
			s.natted[i] = true
			s.res.NATHosts++
		}
	}
	// The newcomers' from a source of their own, so that churn changes nothing else.
	natRng := rand.New(rand.NewPCG(s.cfg.Seed^0x94d049bb133111eb, s.cfg.Seed))
	for i := n; i < total; i++ {
		s.natted[i] = natRng.Float64() < s.cfg.NAT
	}
	s.drawAdversaries(total)
	ids := make([]protocol.ID, total) // set by Configure, read by Wrap
	// Only the first node starts here; each of the others starts just before it joins
	// (joinAll), so that no node spends the build idle and waiting, its timers running.
	c, err := cluster.Start(ctx, 1, cluster.Options{
		Network: nw,
		Config:  s.cfg.nodeConfig(),
		Configure: func(i int, cfg *node.Config) {
			ids[i] = cfg.ID
			if s.adversarial[i] {
				cfg.DisjointPaths = 0 // the option is the honest nodes' defence
			}
			cfg.OnLookup = func(t node.LookupTrace) { s.traces.deliver(i, t) }
			// Kept to tell which nodes hold a key during a partition.
			s.stores[i] = store.NewMemory()
			cfg.Store = s.stores[i]
		},
		Wrap: func(i int, tr transports.Transport) transports.Transport {
			if s.natted[i] {
				nw.SetNAT(tr.LocalAddr(), s.cfg.NATTimeout)
			}
			if mt, ok := tr.(*mem.Transport); ok {
				s.mems[i] = mt
			}
			if s.adversarial[i] {
				return &adversaryTransport{Transport: tr, self: ids[i], k: s.cfg.K, set: &s.adv}
			}
			return tr
		},
		Join: cluster.JoinNone,
		Seed: s.cfg.Seed,
	})
	s.c = c
	if err != nil {
		return err
	}
	s.nodes[0] = c.Nodes[0]
	s.world.init(s.adversarial)
	s.world.done(0, true, true, false) // the first node, which the others join through
	if err := s.joinAll(ctx); err != nil {
		return err
	}
	u := figures.ReadCPU().Since(start)
	s.res.BuildS, s.res.BuildCPUS, s.res.BuildCPUIdle = u.Wall.Seconds(), u.Process.Seconds(), u.Idle
	s.res.RoutingTableMean = float64(c.Stats().RoutingTableSize) / float64(n)
	fmt.Fprintf(s.cfg.Out, "build: %d nodes started and joined in %s (%.0f at once on average, at most %d, at least %d; each through %d earlier nodes), CPU %s (idle %.0f%%)\n",
		n, u.Wall.Round(time.Millisecond), s.res.JoinWindowMean, s.cfg.JoinParallel, s.res.JoinWindowMin, s.cfg.JoinPeers, u.Process.Round(time.Millisecond), 100*u.Idle)
	return nil
}

// writeJoins counts the nodes in no table and says how the joins went. It comes once
// the build's goroutines have ended: the PINGs with which nodes check a newcomer before
// they take it in may still be under way as its Bootstrap returns.
func (s *sim) writeJoins() {
	s.res.Unknown = s.unknown()
	fmt.Fprintf(s.cfg.Out, "joins: p50 %s, p99 %s, %.0f RPCs each, %d retried, %d failed; routing table %.1f contacts per node; %d nodes in no table\n",
		fmtMS(s.res.JoinP50MS), fmtMS(s.res.JoinP99MS), s.res.JoinRPCsMean, s.res.JoinRetried, s.res.JoinFailed, s.res.RoutingTableMean, s.res.Unknown)
}

// joinAll starts nodes 1.. in order and joins each with its own Bootstrap, each through up to
// JoinPeers nodes drawn at random among those that have joined and are not behind a
// NAT (a NAT would refuse the newcomer's ping). Up to JoinParallel joins run at once
// (fewer while the CPUs are saturated: see joinWindow), and never more than twice as
// many as the nodes already joined, so that the network
// grows as a real one would, from its first node. Nodes that joined earlier learn of
// later ones as those contact them.
func (s *sim) joinAll(ctx context.Context) error {
	n := s.cfg.Nodes
	took := make([]time.Duration, n)
	var done, failed, retried atomic.Int64
	stop := figures.Progress(s.cfg.Progress, "kad sim: join", s.cfg.ProgressEvery, int64(n-1), &done)
	defer stop()
	before := s.c.Stats().RequestsSent

	var mu sync.Mutex // guards the three below
	wake := sync.NewCond(&mu)
	public := []int{0} // joined, not NAT'd: the join peers to draw from
	joined, inFlight := 1, 0
	defer context.AfterFunc(ctx, func() {
		mu.Lock()
		wake.Broadcast()
		mu.Unlock()
	})()
	window := startJoinWindow(s.cfg.JoinParallel, func() {
		mu.Lock()
		wake.Broadcast()
		mu.Unlock()
	})
	var wg sync.WaitGroup
	var startErr error
	for i := 1; i < n; i++ {
		mu.Lock()
		for inFlight >= min(window.limit(), 2*joined) && ctx.Err() == nil {
			wake.Wait()
		}
		peers := s.pick(public, s.cfg.JoinPeers)
		inFlight++
		mu.Unlock()
		if ctx.Err() != nil {
			break
		}
		nd, err := s.c.Add() // index i: only this goroutine adds nodes
		if err != nil {
			startErr = fmt.Errorf("node %d: %w", i, err)
			break
		}
		s.nodes[i] = nd
		if s.adversarial[i] {
			s.adv.add(nd.Contact())
		}
		seeds := s.contacts(peers)
		wg.Go(func() {
			d, retries, err := s.bootstrap(ctx, i, seeds)
			retried.Add(int64(retries))
			ok := err == nil
			if ok {
				took[i] = d
			} else if ctx.Err() == nil {
				failed.Add(1)
			}
			s.world.done(i, ok, !s.natted[i], false)
			mu.Lock()
			inFlight--
			joined++
			if ok && !s.natted[i] && !s.adversarial[i] {
				public = append(public, i)
			}
			wake.Broadcast()
			mu.Unlock()
			done.Add(1)
		})
	}
	wg.Wait()
	s.res.JoinWindowMean, s.res.JoinWindowMin = window.stop()
	if err := cmp.Or(startErr, ctx.Err()); err != nil {
		return err
	}
	s.res.JoinFailed, s.res.JoinRetried = int(failed.Load()), int(retried.Load())
	s.res.JoinRPCsMean = float64(s.c.Stats().RequestsSent-before) / float64(n-1)
	var ok []time.Duration
	for _, d := range took[1:] {
		if d > 0 {
			ok = append(ok, d)
		}
	}
	slices.Sort(ok)
	s.res.JoinP50MS, s.res.JoinP99MS = ms(figures.Percentile(ok, 0.5)), ms(figures.Percentile(ok, 0.99))
	return nil
}

// bootstrap joins node i through seeds with its own Bootstrap, trying joinAttempts
// times, each bounded by OpTimeout, and returns how long the Bootstrap that succeeded
// took and how many were tried again. The first failure of the run is kept in
// Result.JoinFirstError.
func (s *sim) bootstrap(ctx context.Context, i int, seeds []protocol.Contact) (took time.Duration, retries int, err error) {
	for attempt := range joinAttempts {
		jctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
		begin := time.Now()
		err = s.nodes[i].Bootstrap(jctx, seeds...)
		cancel()
		if err == nil {
			return time.Since(begin), retries, nil
		}
		if ctx.Err() != nil {
			return 0, retries, err
		}
		s.joinErr.Do(func() { s.res.JoinFirstError = fmt.Sprintf("node %d: %v", i, err) })
		if attempt+1 < joinAttempts {
			retries++
		}
	}
	return 0, retries, err
}

// drawAdversaries picks the adversarial nodes, Config.Adversarial of the first Nodes,
// never the first node (through which the first joins go). They are drawn from a source
// of their own, so that every other draw of a run is that of the same run without them;
// the churn's newcomers are honest.
func (s *sim) drawAdversaries(total int) {
	s.adversarial = make([]bool, total)
	count := s.cfg.adversaries()
	rng := rand.New(rand.NewPCG(s.cfg.Seed^0xd6e8feb86659fd93, s.cfg.Seed))
	for _, j := range rng.Perm(s.cfg.Nodes - 1)[:count] {
		s.adversarial[j+1] = true
	}
	for i := range s.cfg.Nodes {
		if !s.adversarial[i] {
			s.honest = append(s.honest, i)
		}
	}
}

// honestReplicas counts the honest nodes that hold each stored value after the puts:
// the replicas a put reports count the adversaries' STORED replies, which are lies.
func (s *sim) honestReplicas() {
	now := time.Now()
	held := 0
	for _, key := range s.keys {
		holders := 0
		for _, i := range s.honest {
			if s.stores[i] == nil {
				continue
			}
			if _, ok, _ := s.stores[i].Get(key, now); ok {
				holders++
			}
		}
		held += holders
		if holders == 0 {
			s.res.Put.Unheld++
		}
	}
	s.res.Put.HonestReplicasMean = figures.Ratio(float64(held), float64(len(s.keys)))
}

// contacts returns the contacts of the given nodes.
func (s *sim) contacts(idx []int) []protocol.Contact {
	cs := make([]protocol.Contact, len(idx))
	for j, i := range idx {
		cs[j] = s.nodes[i].Contact()
	}
	return cs
}

// pick draws up to k distinct elements of from.
func (s *sim) pick(from []int, k int) []int {
	if len(from) <= k {
		return slices.Clone(from)
	}
	out := make([]int, 0, k)
	for len(out) < k {
		if j := from[s.rng.IntN(len(from))]; !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	return out
}

// randomID draws an ID.
func (s *sim) randomID() protocol.ID {
	var id protocol.ID
	for i := 0; i < len(id); i += 4 {
		binary.BigEndian.PutUint32(id[i:], s.rng.Uint32())
	}
	return id
}

// value returns the value stored under key: drawn from the seed and the key, so that
// the values of a run need not be kept.
func (s *sim) value(key protocol.ID) []byte {
	var b [8 + len(key)]byte
	binary.BigEndian.PutUint64(b[:], s.cfg.Seed)
	copy(b[8:], key[:])
	v := sha256.Sum256(b[:])
	return v[:]
}

// puts stores cfg.Values values under random keys, each from a random node, and keeps
// the keys of those stored.
func (s *sim) puts(ctx context.Context) error {
	keys := make([]protocol.ID, s.cfg.Values)
	from := make([]int, len(keys))
	for i := range keys {
		keys[i] = s.randomID()
		from[i] = s.honest[s.rng.IntN(len(s.honest))]
	}
	outs, err := s.phase(ctx, &s.res.Put, opPut, len(keys), func(ctx context.Context, i int) outcome {
		var o outcome
		s.traced(&o, from[i], keys[i], false, func() (err error) {
			o.replicas, err = s.nodes[from[i]].Put(ctx, keys[i], s.value(keys[i]))
			return err
		})
		return o
	})
	if err != nil {
		return err
	}
	s.res.Put.summarize(outs)
	for i, o := range outs {
		if o.err == nil {
			s.keys = append(s.keys, keys[i])
		}
	}
	if s.res.Adversaries > 0 {
		s.honestReplicas()
	}
	if len(s.keys) == 0 {
		return fmt.Errorf("no value could be stored: %s", s.res.Put.FirstError)
	}
	return nil
}

// traced runs op, an operation of node i that runs at most one lookup of target (a
// value lookup if value is set), times it and records in o its error and its lookup's
// trace.
func (s *sim) traced(o *outcome, i int, target protocol.ID, value bool, op func() error) {
	slot := s.traces.expect(traceKey{node: i, target: target, value: value})
	start := time.Now()
	o.err = op()
	o.took = time.Since(start)
	if t, ok := s.traces.take(slot); ok {
		o.traced = true
		o.hops, o.rounds, o.rpcs, o.timeouts = t.Hops, t.Rounds, t.RPCs, t.Timeouts
	}
}

// gets gets cfg.Lookups stored keys, each from a random live node, and checks the value.
func (s *sim) gets(ctx context.Context) error {
	keys := make([]protocol.ID, s.cfg.Lookups)
	from := make([]int, len(keys))
	for i := range keys {
		keys[i] = s.keys[s.rng.IntN(len(s.keys))]
		from[i] = s.live[s.rng.IntN(len(s.live))]
	}
	outs, err := s.phase(ctx, &s.res.Get, opGet, len(keys), func(ctx context.Context, i int) outcome {
		var o outcome
		var got []byte
		s.traced(&o, from[i], keys[i], true, func() (err error) {
			got, err = s.nodes[from[i]].Get(ctx, keys[i])
			return err
		})
		switch {
		case o.err != nil:
		case !bytes.Equal(got, s.value(keys[i])):
			o.err = fmt.Errorf("node %d: get %s: %w", from[i], keys[i].Short(), errWrongValue)
		case !o.traced:
			o.local, o.hops = true, 0
		}
		return o
	})
	if err != nil {
		return err
	}
	s.res.Get.summarize(outs)
	return nil
}

// lookups runs cfg.Lookups node lookups of random targets, each from a random live
// node. One succeeds when its contacts hold the live node closest to the target (other
// than the one asking, which a lookup never returns).
func (s *sim) lookups(ctx context.Context) error {
	targets := make([]protocol.ID, s.cfg.Lookups)
	from := make([]int, len(targets))
	for i := range targets {
		targets[i] = s.randomID()
		from[i] = s.live[s.rng.IntN(len(s.live))]
	}
	got := make([][]protocol.ID, len(targets))
	outs, err := s.phase(ctx, &s.res.Lookup, opLookup, len(targets), func(ctx context.Context, i int) outcome {
		var o outcome
		s.traced(&o, from[i], targets[i], false, func() error {
			cs, err := s.nodes[from[i]].Lookup(ctx, targets[i])
			for _, c := range cs {
				got[i] = append(got[i], c.ID)
			}
			return err
		})
		return o
	})
	if err != nil {
		return err
	}
	s.judge(outs, targets, from, got)
	return nil
}

// judge fails the lookups whose contacts lack the live node closest to their target,
// and fills in the figures of the lookups. With NAT'd hosts it also counts the lookups
// whose contacts hold the closest live node not behind a NAT.
func (s *sim) judge(outs []outcome, targets []protocol.ID, from []int, got [][]protocol.ID) {
	var all, public []protocol.ID
	index := make(map[protocol.ID]int, len(s.live))
	for _, i := range s.live {
		id := s.nodes[i].ID()
		all, index[id] = append(all, id), i
		if !s.natted[i] {
			public = append(public, id)
		}
	}
	foundPublic := 0
	var missed []protocol.ID // the closest nodes the lookups missed, once per miss
	for i := range outs {
		if outs[i].err != nil {
			continue
		}
		self := s.nodes[from[i]].ID()
		if s.res.NATHosts > 0 {
			if want := closest(public, targets[i], self, 1); len(want) == 0 || slices.Contains(got[i], want[0]) {
				foundPublic++
			}
		}
		want := closest(all, targets[i], self, s.cfg.K)
		found := 0
		for _, id := range want {
			if slices.Contains(got[i], id) {
				found++
			}
		}
		outs[i].closest = figures.Ratio(float64(found), float64(len(want)))
		if len(want) > 0 && !slices.Contains(got[i], want[0]) {
			outs[i].err = fmt.Errorf("node %d: lookup %s: %w", from[i], targets[i].Short(), errMissedClosest)
			missed = append(missed, want[0])
			if s.model != nil && s.model.Host(s.nodes[index[want[0]]].Addr().Addr()).Slow {
				s.res.Lookup.MissedSlow++
			}
		}
	}
	s.res.Lookup.summarize(outs)
	if len(missed) > 0 {
		known := s.knownBy(missed)
		s.res.Lookup.MissedKnownBy = &known
	}
	if s.res.NATHosts > 0 {
		s.res.Lookup.SuccessPublic = figures.Ratio(float64(foundPublic), float64(len(outs)))
	}
}

// unknown returns how many of the nodes are in no other node's routing table.
func (s *sim) unknown() int {
	held := make(map[protocol.ID]bool, len(s.nodes))
	for _, n := range s.nodes {
		if n == nil {
			continue
		}
		for _, c := range n.Contacts() {
			held[c.ID] = true
		}
	}
	count := 0
	for _, n := range s.nodes {
		if n != nil && !held[n.ID()] {
			count++
		}
	}
	return count
}

// knownBy returns the mean, over ids, of the number of live nodes whose routing tables
// hold each.
func (s *sim) knownBy(ids []protocol.ID) float64 {
	holders := make(map[protocol.ID]int, len(ids))
	for _, id := range ids {
		holders[id] = 0
	}
	for _, i := range s.live {
		for _, c := range s.nodes[i].Contacts() {
			if n, ok := holders[c.ID]; ok {
				holders[c.ID] = n + 1
			}
		}
	}
	sum := 0
	for _, id := range ids {
		sum += holders[id]
	}
	return float64(sum) / float64(len(ids))
}

// phase runs do(ctx, i) for i in [0, count) with cfg.Parallel concurrent callers, each
// call bounded by cfg.OpTimeout, and records in op its name and the CPU it took. The
// caller fills in the rest of op from the outcomes.
func (s *sim) phase(ctx context.Context, op *Op, name string, count int, do func(ctx context.Context, i int) outcome) ([]outcome, error) {
	outs := make([]outcome, count)
	var done atomic.Int64
	stop := figures.Progress(s.cfg.Progress, "kad sim: "+name, s.cfg.ProgressEvery, int64(count), &done)
	defer stop()
	sampler := startSampler()
	start := figures.ReadCPU()
	figures.Each(ctx, count, s.cfg.Parallel, s.cfg.OpTimeout, &done, func(ctx context.Context, i int) {
		outs[i] = do(ctx, i)
	})
	u := figures.ReadCPU().Since(start)
	idleMin := sampler.stop(u.Idle)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	op.Op = name
	op.setCPU(u, idleMin)
	if u.Idle < minIdle && s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, "kad sim: warning: the CPUs were %.0f%% idle during the %s phase (under %.0f%%): its latencies may include waiting for a CPU; lower --parallel\n",
			100*u.Idle, name, 100*minIdle)
	}
	return outs, nil
}

// setIdle sets the idle fractions of the measured phases taken together.
func (s *sim) setIdle(phases ...*Op) {
	r := s.res
	var wall, cpu, hostIdle float64
	r.CPUIdleMin = 1
	for _, op := range phases {
		wall, cpu = wall+op.WallS, cpu+op.CPUS
		hostIdle += op.HostIdle * op.WallS
		r.CPUIdleMin = min(r.CPUIdleMin, op.CPUIdleMin)
	}
	r.CPUIdle = 1 - figures.Ratio(cpu, wall*float64(r.GOMAXPROCS))
	r.HostIdle = figures.Ratio(hostIdle, wall)
	for _, op := range phases {
		if op.HostIdle < 0 {
			r.HostIdle = -1
		}
	}
}

// setHeadline copies the gets' figures to the top of the result.
func (s *sim) setHeadline() {
	g, r := &s.res.Get, s.res
	r.SuccessRate, r.HopsP50, r.HopsP90, r.HopsP99 = g.SuccessRate, g.HopsP50, g.HopsP90, g.HopsP99
	r.RPCsMean, r.TimeoutsMean = g.RPCsMean, g.TimeoutsMean
	r.LatencyP50MS, r.LatencyP90MS, r.LatencyP99MS = g.LatencyP50MS, g.LatencyP90MS, g.LatencyP99MS
}

func (s *sim) writeHeader() {
	c := s.cfg
	latency := "internet latency model"
	if c.LatencyModel == LatencyFixed {
		latency = fmt.Sprintf("fixed latency %s one way", c.Latency)
	}
	fmt.Fprintf(c.Out, "kad sim: %d nodes, %d values, %d gets and lookups, k %d, alpha %d, %s, loss %g, NAT %g, kill %g, seed %d, %s, GOMAXPROCS %d\n",
		c.Nodes, c.Values, c.Lookups, c.K, c.Alpha, latency, c.Loss, c.NAT, c.Kill, c.Seed, s.res.GoVersion, s.res.GOMAXPROCS)
	if s.res.Adversaries > 0 {
		fmt.Fprintf(c.Out, "adversaries: %d of %d nodes answer every FIND_NODE and FIND_VALUE with the %d adversaries closest to the key, and drop every STORE; callers are honest, and a lookup must find the closest honest node\n",
			s.res.Adversaries, c.Nodes, c.K)
	}
	if c.DisjointPaths > 1 {
		fmt.Fprintf(c.Out, "lookups: the honest nodes look up over %d disjoint paths\n", c.DisjointPaths)
	}
	if c.ChurnMedian > 0 {
		fmt.Fprintf(c.Out, "churn: sessions of median %v, Weibull shape %g, for %v simulated\n", c.ChurnMedian, c.ChurnShape, c.Duration)
	}
}

func (s *sim) writeSummary() {
	r := s.res
	fmt.Fprintf(s.cfg.Out, "\nlog2(%d) = %.1f; gets %.2f%% found, hops p50 %d p99 %d; lookups %.2f%% found the closest node, hops p50 %d p99 %d\n",
		r.Nodes, r.Log2Nodes, 100*r.Get.SuccessRate, r.Get.HopsP50, r.Get.HopsP99, 100*r.Lookup.SuccessRate, r.Lookup.HopsP50, r.Lookup.HopsP99)
	fmt.Fprintf(s.cfg.Out, "network: %d messages, %d lost, %d refused by a NAT (%d hosts behind one), %d dropped by a busy node\n",
		r.MessagesSent, r.MessagesLost, r.MessagesFiltered, r.NATHosts, r.RequestsDropped)
	fmt.Fprintf(s.cfg.Out, "CPU idle through the gets and lookups: %.0f%% (least idle second %.0f%%; host %s)\n",
		100*r.CPUIdle, 100*r.CPUIdleMin, hostIdle(r.HostIdle))
}

func hostIdle(v float64) string {
	if v < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f%%", 100*v)
}
