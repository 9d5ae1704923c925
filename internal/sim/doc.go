// Package sim is the engine behind `kad sim`: it builds a network of real kad nodes —
// the same routing table, lookup engine, maintenance and handlers as `kad node` — on the
// in-memory transport, over a modelled internet (latency from the hosts' places on the
// map, loss, NAT) or a fixed latency, joins them with their own Bootstrap, stores
// values, applies a scenario (nodes killed at once, a time of maintenance, churn after
// internal/churn's schedule, a partition healed after a while) while rounds of gets
// sample the network's health into a timeline, and measures gets and node lookups:
// success, hops, RPCs, timeouts and latency. WritePlot draws a run's hops, latencies
// and timeline.
//
//	res, err := sim.Run(ctx, sim.Config{Nodes: 10_000, Lookups: 1000, Seed: 1, Out: os.Stdout})
//	if err != nil { ... }
//	line, _ := res.JSON() // one line with every figure, for scripts
//
// The network's delays are real timers, so a run takes real time, and its latencies are
// wall times. The run measures its own CPU use against the wall time so that a reader
// can tell whether the figures are the simulated network's or include waiting for a busy
// CPU. SIMULATION.md at the repository root has the method and the figures.
package sim
