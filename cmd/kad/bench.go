package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"kad/internal/bench"
	"kad/protocol"
)

// benchFlags is what the flags of `kad bench` say, checked.
type benchFlags struct {
	cfg  bench.Config
	plot string // file for the latency CDF; empty: none
}

func benchFlagList() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "nodes", Value: bench.DefaultNodes,
			Usage: fmt.Sprintf("`N` nodes in the cluster (2..%d)", bench.MaxNodes)},
		&cli.IntFlag{Name: "ops", Value: bench.DefaultOps,
			Usage: "`M` puts, gets and lookups in each phase"},
		&cli.StringFlag{Name: "transport", Value: bench.TransportUDP,
			Usage: "`NAME` of the transport: udp, quic (on 127.0.0.1) or mem (in memory)"},
		&cli.IntFlag{Name: "parallel", Value: bench.DefaultParallel,
			Usage: "`P` concurrent callers in the parallel phase"},
		&cli.IntFlag{Name: "value-size", Value: bench.DefaultValueSize,
			Usage: "`BYTES` in each value put"},
		&cli.Uint64Flag{Name: "seed", Value: 1,
			Usage: "`SEED` of the node IDs, keys, values and callers"},
		&cli.IntFlag{Name: "k", Value: protocol.K,
			Usage: "the nodes' bucket size and replication factor `N`"},
		&cli.IntFlag{Name: "alpha", Value: protocol.Alpha,
			Usage: "the nodes' `N` requests in flight per lookup"},
		&cli.IntFlag{Name: "bootstrap-peers", Value: bench.DefaultBootstrapPeers,
			Usage: "`N` earlier nodes each node joins through"},
		&cli.DurationFlag{Name: "timeout", Value: bench.DefaultOpTimeout,
			Usage: "`DURATION` bound on one put, get, lookup or bootstrap"},
		&cli.DurationFlag{Name: "rpc-timeout", Value: bench.DefaultRPCTimeout,
			Usage: "`DURATION` bound on one request to one node"},
		&cli.DurationFlag{Name: "idle-wait", Value: bench.DefaultIdleWait,
			Usage: "`DURATION` the joined cluster stays without traffic before the idle node is measured; 0 for none"},
		cpuProfileFlag(),
		memProfileFlag(),
		&cli.StringFlag{Name: "plot",
			Usage: "write the latency CDF of every phase to `FILE` (.png, .svg or .pdf)"},
		&cli.DurationFlag{Name: "progress", Value: bench.DefaultProgressEvery,
			Usage: "print progress on standard error every `DURATION` during long phases; 0 for none"},
	}
}

// benchConfigFlags names the flag that sets each field of bench.Config that one does.
var benchConfigFlags = map[string]string{
	"Nodes": "nodes", "Ops": "ops", "Transport": "transport", "Parallel": "parallel",
	"ValueSize": "value-size", "K": "k", "Alpha": "alpha", "BootstrapPeers": "bootstrap-peers",
	"OpTimeout": "timeout", "RPCTimeout": "rpc-timeout", "ProgressEvery": "progress",
	"IdleWait": "idle-wait",
}

// parseBenchFlags checks the flags of `kad bench`; every error is a usage error.
// Progress goes to the App's standard error.
func parseBenchFlags(c *cli.Context) (benchFlags, error) {
	if c.Args().Present() {
		return benchFlags{}, usageErrorf("bench takes no arguments, got %q", c.Args().First())
	}
	progress, every, err := progressFlags(c)
	if err != nil {
		return benchFlags{}, err
	}
	plot, err := plotFlag(c)
	if err != nil {
		return benchFlags{}, err
	}
	f := benchFlags{
		cfg: bench.Config{
			Nodes:          flagValue(c.Int("nodes")),
			Ops:            flagValue(c.Int("ops")),
			Transport:      c.String("transport"),
			Parallel:       flagValue(c.Int("parallel")),
			ValueSize:      flagValue(c.Int("value-size")),
			Seed:           c.Uint64("seed"),
			K:              flagValue(c.Int("k")),
			Alpha:          flagValue(c.Int("alpha")),
			BootstrapPeers: flagValue(c.Int("bootstrap-peers")),
			OpTimeout:      flagValue(c.Duration("timeout")),
			RPCTimeout:     flagValue(c.Duration("rpc-timeout")),
			IdleWait:       flagValue(c.Duration("idle-wait")),
			Progress:       progress,
			ProgressEvery:  every,
		},
		plot: plot,
	}
	if err := f.cfg.Validate(); err != nil {
		return f, configFlagError(c, err, benchConfigFlags)
	}
	return f, nil
}

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "run a cluster in this process and measure puts, gets and lookups",
		UsageText: "kad bench [--nodes N] [--ops M] [--transport udp|quic|mem] [--parallel P] [flags]",
		Description: "Starts N nodes on 127.0.0.1 (or an in-memory network), joins them, then runs M puts,\n" +
			"M gets of the keys put and M node lookups, first with one caller, then with P concurrent\n" +
			"callers. Prints a table as it goes and, as its last line, one JSON object with every figure.",
		Flags:        benchFlagList(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			f, err := parseBenchFlags(c)
			if err != nil {
				return err
			}
			return runBench(c, f)
		},
	}
}

// runBench runs the benchmark: see runMeasurement.
func runBench(c *cli.Context, f benchFlags) error {
	return runMeasurement(c, measurement[*bench.Result]{
		name: "bench",
		run: func(ctx context.Context, out, heap io.Writer) (*bench.Result, error) {
			cfg := f.cfg
			cfg.Out, cfg.HeapProfile = out, heap
			return bench.Run(ctx, cfg)
		},
		plot: f.plot, what: "latency CDF", draw: bench.WritePlot,
	})
}
