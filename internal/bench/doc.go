// Package bench is the engine behind `kad bench`: it starts a cluster of nodes in one
// process over a chosen transport (UDP or QUIC on 127.0.0.1, or an in-memory network),
// joins them, and measures puts, gets and node lookups, first one caller at a time and
// then with several concurrent callers.
//
//	res, err := bench.Run(ctx, bench.Config{Nodes: 50, Ops: 1000, Transport: "udp", Out: os.Stdout})
//	if err != nil { ... }
//	line, _ := res.JSON() // one line with every figure, for scripts
//
// What is measured, and how, is written down in BENCHMARKS.md at the repository root.
package bench
