package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"kad/internal/cluster"
	"kad/internal/figures"
	"kad/node"
	"kad/protocol"
	"kad/transports/mem"
)

// The operations and modes of the phases.
const (
	opPut      = "put"
	opGet      = "get"
	opLookup   = "lookup"
	sequential = "sequential"
	parallel   = "parallel"
)

// idleSettle bounds the wait for the goroutines of a finished operation to end before
// the idle cluster is measured, and after the nodes are closed.
const idleSettle = 2 * time.Second

// Run starts the cluster cfg describes, joins it, runs the phases, writes the table to
// cfg.Out as it goes, closes every node and returns the figures. It fails if cfg is
// invalid, if a node cannot start or join, or if ctx ends; failed operations are
// counted, not returned.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	res = &Result{
		Transport:      cfg.Transport,
		Nodes:          cfg.Nodes,
		Ops:            cfg.Ops,
		Parallel:       cfg.Parallel,
		ValueSize:      cfg.ValueSize,
		Seed:           cfg.Seed,
		K:              cfg.K,
		Alpha:          cfg.Alpha,
		BootstrapPeers: cfg.BootstrapPeers,
		GoVersion:      runtime.Version(),
		GOMAXPROCS:     runtime.GOMAXPROCS(0),
	}
	w := cfg.Out
	fmt.Fprintf(w, "kad bench: %d nodes over %s, %d ops per phase, %d parallel callers, %d-byte values, k %d, alpha %d, seed %d, %s, GOMAXPROCS %d\n",
		cfg.Nodes, cfg.Transport, cfg.Ops, cfg.Parallel, cfg.ValueSize, cfg.K, cfg.Alpha, cfg.Seed, res.GoVersion, res.GOMAXPROCS)

	base := figures.ReadMemory()
	res.BaselineHeapBytes, res.BaselineRSSBytes, res.BaselineGoroutines = base.Heap, base.RSS, base.Goroutines

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e9955bd1e995))
	c, err := cluster.Start(ctx, cfg.Nodes, cluster.Options{
		Transport:   cfg.Transport,
		Mem:         mem.Options{Seed: cfg.Seed},
		Config:      node.Config{K: cfg.K, Alpha: cfg.Alpha, RPCTimeout: cfg.RPCTimeout},
		Join:        cluster.JoinNone,
		JoinPeers:   cfg.BootstrapPeers,
		JoinTimeout: cfg.OpTimeout,
		Seed:        cfg.Seed,
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
		left := max(figures.Settle(idleSettle)-base.Goroutines, 0)
		if res != nil {
			res.GoroutinesLeft = left
			res.WallUS = us(time.Since(start))
		}
	}()

	if err := joinAll(ctx, cfg, c, res); err != nil {
		return nil, err
	}
	figures.Settle(idleSettle)
	joined := figures.ReadMemory()
	res.HeapPerNodeJoinedBytes = figures.PerNode(joined.Heap, base.Heap, cfg.Nodes)
	res.GoroutinesPerNodeJoined = float64(joined.Goroutines-base.Goroutines) / float64(cfg.Nodes)
	if cfg.IdleWait > 0 {
		select {
		case <-time.After(cfg.IdleWait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		res.IdleWaitUS = us(cfg.IdleWait)
		figures.Settle(idleSettle)
	}
	idle := figures.ReadMemory()
	if err := figures.WriteHeapProfile(cfg.HeapProfile); err != nil {
		return nil, err
	}
	res.HeapPerNodeBytes = figures.PerNode(idle.Heap, base.Heap, cfg.Nodes)
	res.RSSPerNodeBytes = figures.PerNode(idle.RSS, base.RSS, cfg.Nodes)
	res.GoroutinesPerNode = float64(idle.Goroutines-base.Goroutines) / float64(cfg.Nodes)
	res.RoutingTableMean = float64(c.Stats().RoutingTableSize) / float64(cfg.Nodes)
	fmt.Fprintf(w, "bootstrap: %s in all, %s per node (longest %s), %.1f RPCs per node; routing table %.1f contacts per node\n",
		figures.Micros(res.BootstrapTotalUS), figures.Micros(res.BootstrapPerNodeUS), figures.Micros(res.BootstrapMaxUS),
		res.BootstrapRPCsPerNode, res.RoutingTableMean)
	fmt.Fprintf(w, "joined node: heap %s, %.1f goroutines\n", figures.Bytes(res.HeapPerNodeJoinedBytes), res.GoroutinesPerNodeJoined)
	fmt.Fprintf(w, "idle node: heap %s, RSS %s, %.1f goroutines, %s after the last join (process before the nodes: heap %s, RSS %s, %d goroutines)\n",
		figures.Bytes(res.HeapPerNodeBytes), figures.Bytes(res.RSSPerNodeBytes), res.GoroutinesPerNode, figures.Micros(res.IdleWaitUS),
		figures.Bytes(float64(base.Heap)), figures.Bytes(float64(base.RSS)), base.Goroutines)
	fmt.Fprintln(w)
	writeTableHeader(w)

	r := &runner{cfg: cfg, c: c, rng: rng}
	for _, mode := range []struct {
		name    string
		callers int
		put     *Phase
		get     *Phase
		lookup  *Phase
	}{
		{sequential, 1, &res.PutSequential, &res.GetSequential, &res.LookupSequential},
		{parallel, cfg.Parallel, &res.PutParallel, &res.GetParallel, &res.LookupParallel},
	} {
		keys, err := r.puts(ctx, mode.name, mode.callers, mode.put)
		if err != nil {
			return nil, err
		}
		writeTableRow(w, mode.put)
		if err := r.gets(ctx, mode.name, mode.callers, keys, mode.get); err != nil {
			return nil, err
		}
		writeTableRow(w, mode.get)
		if err := r.lookups(ctx, mode.name, mode.callers, mode.lookup); err != nil {
			return nil, err
		}
		writeTableRow(w, mode.lookup)
	}

	after := figures.ReadMemory()
	res.HeapPerNodeAfterOpsBytes = figures.PerNode(after.Heap, base.Heap, cfg.Nodes)
	res.RSSPerNodeAfterOpsBytes = figures.PerNode(after.RSS, base.RSS, cfg.Nodes)
	res.RecordsPerNode = float64(c.Stats().StoredRecords) / float64(cfg.Nodes)
	fmt.Fprintf(w, "\nafter the phases: heap %s, RSS %s per node, %.1f records per node\n",
		figures.Bytes(res.HeapPerNodeAfterOpsBytes), figures.Bytes(res.RSSPerNodeAfterOpsBytes), res.RecordsPerNode)
	return res, nil
}

// joinAll bootstraps nodes 1.. one after another, each through up to
// cfg.BootstrapPeers earlier nodes.
func joinAll(ctx context.Context, cfg Config, c *cluster.Cluster, res *Result) error {
	var done atomic.Int64
	stop := figures.Progress(cfg.Progress, "kad bench: bootstrap", cfg.ProgressEvery, int64(cfg.Nodes-1), &done)
	defer stop()
	before := c.Stats()
	start := time.Now()
	var sum, longest time.Duration
	for i := 1; i < cfg.Nodes; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := c.Join(ctx, i)
		if err != nil {
			return err
		}
		sum += d
		longest = max(longest, d)
		done.Add(1)
	}
	res.BootstrapTotalUS = us(time.Since(start))
	res.BootstrapPerNodeUS = us(sum) / float64(cfg.Nodes-1)
	res.BootstrapMaxUS = us(longest)
	res.BootstrapRPCsPerNode = float64(c.Stats().RequestsSent-before.RequestsSent) / float64(cfg.Nodes-1)
	return nil
}

// runner runs the phases on a joined cluster.
type runner struct {
	cfg Config
	c   *cluster.Cluster
	rng *rand.Rand // used only between phases, by one goroutine
}

// randomID draws an ID from r.rng.
func (r *runner) randomID() protocol.ID {
	var id protocol.ID
	for i := 0; i < len(id); i += 4 {
		binary.BigEndian.PutUint32(id[i:], r.rng.Uint32())
	}
	return id
}

// outcome is what one operation did.
type outcome struct {
	took     time.Duration
	err      error
	local    bool // a get answered from the caller's own store
	replicas int  // a put's count of nodes that stored the value
}

// phase runs do(ctx, i) for i in [0, cfg.Ops) with callers concurrent callers, and
// fills p. Each call bounds its operation with cfg.OpTimeout.
func (r *runner) phase(ctx context.Context, op, mode string, callers int, p *Phase, do func(ctx context.Context, i int) outcome) error {
	*p = Phase{Op: op, Mode: mode, Callers: callers, Count: r.cfg.Ops}
	outs := make([]outcome, r.cfg.Ops)
	var done atomic.Int64
	stop := figures.Progress(r.cfg.Progress, "kad bench: "+op+" "+mode, r.cfg.ProgressEvery, int64(r.cfg.Ops), &done)
	before := r.c.Stats()
	start := time.Now()
	figures.Each(ctx, r.cfg.Ops, callers, r.cfg.OpTimeout, &done, func(ctx context.Context, i int) {
		outs[i] = do(ctx, i)
	})
	wall := time.Since(start)
	after := r.c.Stats()
	stop()
	if err := ctx.Err(); err != nil {
		return err
	}

	lat := make([]time.Duration, 0, len(outs))
	replicas := 0
	for _, o := range outs {
		if o.err != nil {
			p.Failed++
			if p.FirstError == "" {
				p.FirstError = o.err.Error()
			}
			continue
		}
		p.OK++
		lat = append(lat, o.took)
		replicas += o.replicas
		if o.local {
			p.Local++
		}
	}
	p.setLatencies(lat)
	p.WallUS = us(wall)
	p.OpsPerSec = figures.Ratio(float64(p.OK), wall.Seconds())
	p.RPCsPerOp = float64(after.RequestsSent-before.RequestsSent) / float64(p.Count)
	p.RPCsByType = make(map[string]float64, len(node.RequestTypes))
	var unanswered uint64
	for i, t := range node.RequestTypes {
		var sent uint64
		for o := range after.Sent[i] {
			d := after.Sent[i][o] - before.Sent[i][o]
			sent += d
			if o != int(node.SentOK) && o != int(node.SentErrorReply) {
				unanswered += d
			}
		}
		p.RPCsByType[t.String()] = float64(sent) / float64(p.Count)
	}
	p.RPCsUnanswered = float64(unanswered) / float64(p.Count)
	p.Lookups = after.Lookups - before.Lookups
	p.RPCsPerLookup = figures.Ratio(float64(after.LookupRequests-before.LookupRequests), float64(p.Lookups))
	p.RoundsPerLookup = figures.Ratio(float64(after.LookupRounds-before.LookupRounds), float64(p.Lookups))
	if op == opPut {
		p.ReplicasMean = figures.Ratio(float64(replicas), float64(p.OK))
	}
	return nil
}

// puts stores cfg.Ops random values under random keys, each from a random node, and
// returns the keys.
func (r *runner) puts(ctx context.Context, mode string, callers int, p *Phase) ([]protocol.ID, error) {
	keys := make([]protocol.ID, r.cfg.Ops)
	from := make([]int, r.cfg.Ops)
	for i := range keys {
		keys[i] = r.randomID()
		from[i] = r.rng.IntN(len(r.c.Nodes))
	}
	err := r.phase(ctx, opPut, mode, callers, p, func(ctx context.Context, i int) outcome {
		value := r.value(keys[i])
		start := time.Now()
		stored, err := r.c.Nodes[from[i]].Put(ctx, keys[i], value)
		took := time.Since(start)
		if err != nil {
			err = fmt.Errorf("node %d: %w", from[i], err)
		}
		return outcome{took: took, err: err, replicas: stored}
	})
	return keys, err
}

// value returns the value put under key: cfg.ValueSize bytes drawn from the seed and the
// key, so that the values of a run need not be kept.
func (r *runner) value(key protocol.ID) []byte {
	var seed [32]byte
	copy(seed[:], key[:])
	binary.LittleEndian.PutUint64(seed[24:], r.cfg.Seed)
	v := make([]byte, r.cfg.ValueSize)
	rand.NewChaCha8(seed).Read(v)
	return v
}

// gets looks up every record, in random order, each from a random node that does not
// hold it (chosen when the get starts, since gets cache values at further nodes), so
// that every get is a network lookup; a get from a node that holds the key (only when
// every node does) is counted as local.
func (r *runner) gets(ctx context.Context, mode string, callers int, keys []protocol.ID, p *Phase) error {
	order := r.rng.Perm(len(keys))
	pick := make([]uint64, len(keys))
	for i := range pick {
		pick[i] = r.rng.Uint64()
	}
	return r.phase(ctx, opGet, mode, callers, p, func(ctx context.Context, i int) outcome {
		key := keys[order[i]]
		want := r.value(key)
		candidates := nonHolders(make([]int, 0, len(r.c.Nodes)), r.c.Nodes, key)
		local := len(candidates) == 0
		var from int
		if local {
			from = int(pick[i] % uint64(len(r.c.Nodes)))
		} else {
			from = candidates[pick[i]%uint64(len(candidates))]
		}
		start := time.Now()
		got, err := r.c.Nodes[from].Get(ctx, key)
		took := time.Since(start)
		switch {
		case err != nil:
			err = fmt.Errorf("node %d: %w", from, err)
		case !bytes.Equal(got, want):
			err = fmt.Errorf("node %d: get %s: %w", from, key.Short(), errWrongValue)
		}
		return outcome{took: took, err: err, local: local}
	})
}

// errWrongValue reports a get that returned a value other than the one put.
var errWrongValue = errors.New("wrong value")

// lookups runs node lookups of random IDs from random nodes.
func (r *runner) lookups(ctx context.Context, mode string, callers int, p *Phase) error {
	targets := make([]protocol.ID, r.cfg.Ops)
	from := make([]int, r.cfg.Ops)
	for i := range targets {
		targets[i] = r.randomID()
		from[i] = r.rng.IntN(len(r.c.Nodes))
	}
	return r.phase(ctx, opLookup, mode, callers, p, func(ctx context.Context, i int) outcome {
		start := time.Now()
		closest, err := r.c.Nodes[from[i]].Lookup(ctx, targets[i])
		took := time.Since(start)
		switch {
		case err != nil:
			err = fmt.Errorf("node %d: %w", from[i], err)
		case len(closest) == 0:
			err = fmt.Errorf("node %d: lookup %s: %w", from[i], targets[i].Short(), node.ErrNoContacts)
		}
		return outcome{took: took, err: err}
	})
}

// nonHolders appends to dst the indices of the nodes whose store does not hold key.
func nonHolders(dst []int, nodes []*node.Node, key protocol.ID) []int {
	now := time.Now()
	for i, n := range nodes {
		if _, ok, err := n.Store().Get(key, now); !ok || err != nil {
			dst = append(dst, i)
		}
	}
	return dst
}
