package figures

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 1) of sorted, or the
// zero value when sorted is empty.
func Percentile[T cmp.Ordered](sorted []T, p float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Latencies are the figures of a set of durations, by nearest rank.
type Latencies struct {
	P50, P90, P99, Max, Mean time.Duration
}

// Summarize sorts lat in place and returns its figures; all zero when lat is empty.
func Summarize(lat []time.Duration) Latencies {
	slices.Sort(lat)
	if len(lat) == 0 {
		return Latencies{}
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return Latencies{
		P50: Percentile(lat, 0.50), P90: Percentile(lat, 0.90), P99: Percentile(lat, 0.99),
		Max: lat[len(lat)-1], Mean: sum / time.Duration(len(lat)),
	}
}

// Ratio returns a/b, or 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Micros writes microseconds the way people read them: 812µs, 1.25ms, 3.40s.
func Micros(v float64) string {
	switch {
	case v < 1000:
		return fmt.Sprintf("%.0fµs", v)
	case v < 1e6:
		return fmt.Sprintf("%.2fms", v/1e3)
	}
	return fmt.Sprintf("%.2fs", v/1e6)
}

// Bytes writes a size in B, KiB or MiB.
func Bytes(v float64) string {
	a := math.Abs(v)
	switch {
	case a < 1024:
		return fmt.Sprintf("%.0f B", v)
	case a < 1024*1024:
		return fmt.Sprintf("%.1f KiB", v/1024)
	}
	return fmt.Sprintf("%.1f MiB", v/(1024*1024))
}
