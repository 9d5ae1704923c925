package figures

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 0.5, want: 0},
		{name: "one", sorted: ms(7), p: 0.99, want: 7 * time.Millisecond},
		{name: "median of two", sorted: ms(1, 2), p: 0.5, want: time.Millisecond},
		{name: "p50 of 100", sorted: hundred, p: 0.50, want: 50 * time.Millisecond},
		{name: "p90 of 100", sorted: hundred, p: 0.90, want: 90 * time.Millisecond},
		{name: "p99 of 100", sorted: hundred, p: 0.99, want: 99 * time.Millisecond},
		{name: "max", sorted: hundred, p: 1, want: 100 * time.Millisecond},
		{name: "p99 of 10", sorted: ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), p: 0.99, want: 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if got := Percentile([]int{1, 1, 2, 3, 5}, 0.5); got != 2 {
		t.Errorf("median hops %d, want 2", got)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Micros(0.4), "0µs"},
		{Micros(812.3), "812µs"},
		{Micros(1250), "1.25ms"},
		{Micros(3.4e6), "3.40s"},
		{Bytes(512), "512 B"},
		{Bytes(1536), "1.5 KiB"},
		{Bytes(-2048), "-2.0 KiB"},
		{Bytes(3 << 20), "3.0 MiB"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestReadRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmRSS is read from /proc")
	}
	if rss := readRSS(); rss < 1<<20 {
		t.Errorf("RSS %d bytes, want at least a MiB", rss)
	}
	if total := MachineMemory(); total < readRSS() {
		t.Errorf("the machine has %d bytes, less than this process's RSS", total)
	}
}

// TestCPU: work done between two readings shows as CPU time of the process, and the
// idle fractions stay fractions.
func TestCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("host counters are read from /proc")
	}
	before := ReadCPU()
	x := 0
	for deadline := time.Now().Add(5 * time.Second); processCPU()-before.Process < 20*time.Millisecond && time.Now().Before(deadline); {
		for i := range 100_000 {
			x ^= i
		}
	}
	u := ReadCPU().Since(before)
	if u.Process < 20*time.Millisecond || u.Wall <= 0 {
		t.Fatalf("busy loop (%d): %v of CPU in %v of wall time, want at least 20ms", x, u.Process, u.Wall)
	}
	if u.Idle < 0 || u.Idle > 1 || u.HostIdle < 0 || u.HostIdle > 1 {
		t.Errorf("idle %v, host idle %v: want fractions", u.Idle, u.HostIdle)
	}
}

func TestSummarize(t *testing.T) {
	lat := []time.Duration{4 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}
	got := Summarize(lat)
	want := Latencies{P50: 2 * time.Millisecond, P90: 4 * time.Millisecond, P99: 4 * time.Millisecond,
		Max: 4 * time.Millisecond, Mean: 2500 * time.Microsecond}
	if got != want || lat[0] != time.Millisecond {
		t.Errorf("Summarize = %+v (input now %v), want %+v and the input sorted", got, lat, want)
	}
	if got := Summarize(nil); got != (Latencies{}) {
		t.Errorf("Summarize(nil) = %+v, want zeros", got)
	}
}

// TestEach: every index is done once, by at most callers goroutines at a time, and
// none is started once the context has ended.
func TestEach(t *testing.T) {
	const count, callers = 200, 4
	var calls [count]atomic.Int32
	var running, most, done atomic.Int64
	Each(t.Context(), count, callers, time.Second, &done, func(ctx context.Context, i int) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Errorf("call %d has no deadline", i)
		}
		calls[i].Add(1)
		running.Add(-1)
	})
	for i := range calls {
		if n := calls[i].Load(); n != 1 {
			t.Errorf("index %d done %d times", i, n)
		}
	}
	if done.Load() != count || most.Load() > callers {
		t.Errorf("%d done, at most %d at once; want %d and at most %d", done.Load(), most.Load(), count, callers)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	Each(ctx, count, callers, time.Second, nil, func(context.Context, int) { t.Error("a call after the context ended") })
}
