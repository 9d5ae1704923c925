// Package figures holds what kad's measuring tools (the benchmark and the simulator)
// share: nearest-rank percentiles, the process's memory and CPU time, and the way their
// figures are written for people.
//
//	before := figures.ReadCPU()
//	... the phase ...
//	idle := figures.ReadCPU().IdleSince(before) // fraction of the CPUs this process left idle
//	p99 := figures.Percentile(sortedLatencies, 0.99)
package figures
