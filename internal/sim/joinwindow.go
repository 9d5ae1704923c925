package sim

import (
	"sync"
	"time"

	"kad/internal/figures"
)

// The build may use the CPUs fully, but no more: past that, the timers of the network's
// delays and of the nodes' RPC timeouts fire late, pings to join peers time out, joins
// fail and are tried again, and the extra work makes the machine busier still — at
// 10,000 nodes on two busy cores a fixed 256 joins at once ended with 4 % of the joins
// failed and routing tables that missed one lookup in six. So the number of joins let
// run at once follows the machine's idle share, read every joinWindowPeriod: it
// halves below joinIdleLow and grows by joinWindowStep above joinIdleHigh, between
// joinWindowMin and Config.JoinParallel.
const (
	joinWindowPeriod = time.Second
	joinIdleLow      = 0.05
	joinIdleHigh     = 0.20
	joinWindowMin    = 8
	joinWindowStep   = 16
)

// joinWindow is how many joins may run at once, adjusted to the CPU's idle share.
type joinWindow struct {
	max   int
	watch *cpuWatch

	mu      sync.Mutex
	size    int
	sum     float64
	samples int
	least   int
}

// startJoinWindow starts at min(max, 2·joinWindowStep) and adjusts every period until
// stop; changed is called whenever the window grows, so that waiting joins can start.
func startJoinWindow(max int, changed func()) *joinWindow {
	w := newJoinWindow(max)
	w.watch = watchCPU(joinWindowPeriod, func(u figures.CPUUsage) {
		idle := u.Idle
		if u.HostIdle >= 0 {
			idle = min(idle, u.HostIdle) // other work on the machine counts too
		}
		if w.adjust(idle) {
			changed()
		}
	})
	return w
}

// newJoinWindow returns a window of at most max that is not adjusted yet.
func newJoinWindow(max int) *joinWindow {
	size := min(max, 2*joinWindowStep)
	return &joinWindow{max: max, size: size, least: size}
}

// adjust sets the window for one period's idle share and reports whether it grew.
func (w *joinWindow) adjust(idle float64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.size
	switch {
	case idle < joinIdleLow:
		w.size = max(w.size/2, min(joinWindowMin, w.max))
	case idle > joinIdleHigh:
		w.size = min(w.size+joinWindowStep, w.max)
	}
	w.least = min(w.least, w.size)
	w.sum += float64(w.size)
	w.samples++
	return w.size > old
}

// limit returns the window's size now.
func (w *joinWindow) limit() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// stop ends the adjusting and returns the mean and the least size of the window.
func (w *joinWindow) stop() (mean float64, least int) {
	if w.watch != nil {
		w.watch.stop()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.samples == 0 {
		return float64(w.size), w.least
	}
	return w.sum / float64(w.samples), w.least
}
