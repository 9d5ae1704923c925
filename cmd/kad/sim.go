package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"kad/internal/sim"
	"kad/node"
	"kad/protocol"
)

func simFlagList() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "nodes", Value: sim.DefaultNodes,
			Usage: fmt.Sprintf("`N` nodes in the network (2..%d)", sim.MaxNodes)},
		&cli.IntFlag{Name: "values", Value: sim.DefaultValues,
			Usage: "`V` values stored before the scenario, each from a random node"},
		&cli.IntFlag{Name: "lookups", Value: sim.DefaultLookups,
			Usage: "`M` gets of stored keys and M node lookups, each from a random live node"},
		&cli.Uint64Flag{Name: "seed", Value: 1,
			Usage: "`SEED` of the node IDs, hosts, NAT'd hosts, keys, killed nodes and callers"},
		&cli.StringFlag{Name: "latency-model", Value: sim.DefaultLatencyModel,
			Usage: "`MODEL` of the network's delays: internet (hosts at cities, delays from their distance) or fixed (--latency)"},
		&cli.DurationFlag{Name: "latency", Value: sim.DefaultLatency,
			Usage: "one-way delay `D` of every message with --latency-model fixed (a round trip takes 2D)"},
		&cli.Float64Flag{Name: "loss", Value: 0,
			Usage: "probability `P` that a message is lost"},
		&cli.Float64Flag{Name: "nat", Value: 0,
			Usage: "fraction `F` of hosts behind a port-restricted NAT"},
		&cli.DurationFlag{Name: "nat-timeout", Value: sim.DefaultNATTimeout,
			Usage: "life `D` of a NAT's mapping: how long a NAT'd host can be reached by a host it sent to"},
		&cli.Float64Flag{Name: "kill", Value: 0,
			Usage: "fraction `F` of the nodes killed at once after the values are stored"},
		&cli.DurationFlag{Name: "maintain", Value: 0,
			Usage: "let maintenance run `D` after the kill, before measuring"},
		&cli.DurationFlag{Name: "churn-median", Value: 0,
			Usage: "median session `D` of the churn: nodes leave silently and new ones join in their place; 0 for none"},
		&cli.Float64Flag{Name: "churn-shape", Value: sim.DefaultChurnShape,
			Usage: "Weibull shape `S` of the churn's session lengths (below 1: heavy-tailed)"},
		&cli.DurationFlag{Name: "duration", Value: 0,
			Usage: "simulated length `D` of the scenario (of the churn), run in D divided by --time-scale"},
		&cli.Float64Flag{Name: "partition", Value: 0,
			Usage: "fraction `F` of the live nodes split off from the others when the scenario begins"},
		&cli.DurationFlag{Name: "partition-for", Value: 0,
			Usage: "simulated time `D` until the partition heals"},
		&cli.DurationFlag{Name: "sample", Value: 0,
			Usage: "simulated time `D` between two rounds of gets during the scenario; 0 for a 24th of it"},
		&cli.IntFlag{Name: "sample-gets", Value: sim.DefaultSampleGets,
			Usage: "`G` gets in each round during the scenario"},
		cpuProfileFlag(),
		memProfileFlag(),
		&cli.StringFlag{Name: "plot",
			Usage: "write the hops, the latency CDF and the success over time to `FILE` (.png, .svg or .pdf)"},
		&cli.Float64Flag{Name: "time-scale", Value: sim.DefaultTimeScale,
			Usage: "divide the maintenance intervals (tRefresh, tReplicate, tRepublish, tExpire) and the scenario's simulated times by `X`"},
		&cli.IntFlag{Name: "k", Value: protocol.K,
			Usage: "the nodes' bucket size and replication factor `N`"},
		&cli.IntFlag{Name: "alpha", Value: protocol.Alpha,
			Usage: "the nodes' `N` requests in flight per lookup"},
		&cli.Float64Flag{Name: "adversarial", Value: 0,
			Usage: "fraction `F` of the nodes that answer every FIND_NODE and FIND_VALUE with each other only, closest to the key, and drop every STORE"},
		&cli.StringFlag{Name: "reachability", Value: "auto",
			Usage: "`MODE` of the nodes: auto (a node that finds itself behind a NAT runs as a client) or public (no checks)"},
		&cli.IntFlag{Name: "disjoint", Value: 1,
			Usage: "the honest nodes look up over `D` disjoint paths (S/Kademlia; 1: the single lookup)"},
		&cli.IntFlag{Name: "join-parallel", Value: sim.DefaultJoinParallel,
			Usage: "at most `P` nodes joining at once (fewer while the CPUs are saturated)"},
		&cli.IntFlag{Name: "join-peers", Value: sim.DefaultJoinPeers,
			Usage: "`N` earlier nodes each node joins through"},
		&cli.BoolFlag{Name: "rate-limit", Value: true,
			Usage: "keep the nodes' per-sender request rate limit (--rate-limit=false drops it)"},
		&cli.IntFlag{Name: "parallel", Value: sim.DefaultParallel,
			Usage: "`P` puts, gets or lookups at once"},
		&cli.DurationFlag{Name: "rpc-timeout", Value: sim.DefaultRPCTimeout,
			Usage: "`DURATION` bound on one request to one node"},
		&cli.DurationFlag{Name: "timeout", Value: sim.DefaultOpTimeout,
			Usage: "`DURATION` bound on one join, put, get or lookup"},
		&cli.DurationFlag{Name: "progress", Value: sim.DefaultProgressEvery,
			Usage: "print progress on standard error every `DURATION`; 0 for none"},
	}
}

// simConfigFlags names the flag that sets each field of sim.Config that one does.
var simConfigFlags = map[string]string{
	"Nodes": "nodes", "Values": "values", "Lookups": "lookups", "LatencyModel": "latency-model",
	"Latency": "latency", "Loss": "loss", "NAT": "nat", "NATTimeout": "nat-timeout",
	"Kill": "kill", "Maintain": "maintain", "TimeScale": "time-scale", "K": "k", "Alpha": "alpha",
	"JoinParallel": "join-parallel", "JoinPeers": "join-peers", "Parallel": "parallel",
	"RPCTimeout": "rpc-timeout", "OpTimeout": "timeout", "ProgressEvery": "progress",
	"ChurnMedian": "churn-median", "ChurnShape": "churn-shape", "Duration": "duration",
	"Partition": "partition", "PartitionFor": "partition-for", "Sample": "sample", "SampleGets": "sample-gets",
	"Adversarial": "adversarial", "DisjointPaths": "disjoint",
}

// simFlags are the flags of `kad sim`: the simulation's, and where to plot it.
type simFlags struct {
	cfg  sim.Config
	plot string // empty: none
}

// parseSimFlags checks the flags of `kad sim`; every error is a usage error. Progress
// goes to the App's standard error.
func parseSimFlags(c *cli.Context) (simFlags, error) {
	if c.Args().Present() {
		return simFlags{}, usageErrorf("sim takes no arguments, got %q", c.Args().First())
	}
	// On the command line 0 is a value to refuse where in Config it means the default.
	timeScale, shape := c.Float64("time-scale"), c.Float64("churn-shape")
	if timeScale == 0 {
		timeScale = -1
	}
	if shape == 0 {
		shape = -1
	}
	cfg := sim.Config{
		Nodes:        flagValue(c.Int("nodes")),
		Values:       flagValue(c.Int("values")),
		Lookups:      flagValue(c.Int("lookups")),
		Seed:         c.Uint64("seed"),
		K:            flagValue(c.Int("k")),
		Alpha:        flagValue(c.Int("alpha")),
		LatencyModel: c.String("latency-model"),
		Latency:      flagValue(c.Duration("latency")),
		Loss:         c.Float64("loss"),
		NAT:          c.Float64("nat"),
		NATTimeout:   flagValue(c.Duration("nat-timeout")),
		Kill:         c.Float64("kill"),
		Maintain:     c.Duration("maintain"),
		TimeScale:    timeScale,
		JoinParallel: flagValue(c.Int("join-parallel")),
		JoinPeers:    flagValue(c.Int("join-peers")),
		NoRateLimit:  !c.Bool("rate-limit"),
		Parallel:     flagValue(c.Int("parallel")),
		RPCTimeout:   flagValue(c.Duration("rpc-timeout")),
		OpTimeout:    flagValue(c.Duration("timeout")),
		ChurnMedian:  c.Duration("churn-median"),
		ChurnShape:   shape,
		Duration:     c.Duration("duration"),
		Partition:    c.Float64("partition"),
		PartitionFor: c.Duration("partition-for"),
		Sample:       c.Duration("sample"),
		SampleGets:   flagValue(c.Int("sample-gets")),
		Adversarial:  c.Float64("adversarial"),
		// 0 and 1 both mean the single lookup, in Config as on the command line.
		DisjointPaths: c.Int("disjoint"),
	}
	f := simFlags{cfg: cfg}
	var err error
	switch r := c.String("reachability"); r {
	case "auto":
	case "public":
		f.cfg.Reachability = node.ReachabilityPublic
	default:
		return f, usageErrorf("--reachability %q: want auto or public", r)
	}
	if f.cfg.Progress, f.cfg.ProgressEvery, err = progressFlags(c); err != nil {
		return f, err
	}
	if cfg.LatencyModel == "" {
		return f, usageErrorf("--latency-model \"\": want %s or %s", sim.LatencyInternet, sim.LatencyFixed)
	}
	if f.plot, err = plotFlag(c); err != nil {
		return f, err
	}
	if err := f.cfg.Validate(); err != nil {
		return f, configFlagError(c, err, simConfigFlags)
	}
	return f, nil
}

func simCommand() *cli.Command {
	return &cli.Command{
		Name:  "sim",
		Usage: "simulate a network of real nodes over a modelled internet, in this process",
		UsageText: "kad sim [--nodes N] [--values V] [--lookups M] [--seed S] [--latency-model internet|fixed] [--nat F] [--kill F]\n" +
			"       [--churn-median D --duration D] [--partition F --partition-for D] [--adversarial F --disjoint D]\n" +
			"       [--time-scale X] [--plot FILE] [flags]",
		Description: "Builds a network of N real kad nodes on the in-memory transport, with the delays of a\n" +
			"modelled internet (or a fixed latency), loss and NAT; joins them with their own Bootstrap;\n" +
			"stores V values; applies the scenario: kills a fraction of the nodes and lets maintenance\n" +
			"run, replaces nodes as a churn schedule says, splits the network and heals it, sampling\n" +
			"rounds of gets into a timeline as it goes; then measures M gets and M node lookups from\n" +
			"random live nodes: success, hops, RPCs, timeouts and latency. With --adversarial, that\n" +
			"fraction of the nodes lie to every lookup, and --disjoint D gives the honest nodes\n" +
			"lookups over D disjoint paths. Prints a table and, as its last line, one JSON object\n" +
			"with every figure.\n" +
			"SIMULATION.md describes the method and the figures.",
		Flags:        simFlagList(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			f, err := parseSimFlags(c)
			if err != nil {
				return err
			}
			return runSim(c, f)
		},
	}
}

// runSim runs the simulation: see runMeasurement.
func runSim(c *cli.Context, f simFlags) error {
	return runMeasurement(c, measurement[*sim.Result]{
		name: "sim",
		run: func(ctx context.Context, out, heap io.Writer) (*sim.Result, error) {
			cfg := f.cfg
			cfg.Out, cfg.HeapProfile = out, heap
			return sim.Run(ctx, cfg)
		},
		plot: f.plot, what: "hops, latency CDF and success over time", draw: sim.WritePlot,
	})
}
