package sim

import (
	"sync"
	"time"

	"kad/internal/figures"
)

// samplePeriod is the window over which the least idle stretch of a phase is measured,
// and the join window adjusted.
const samplePeriod = time.Second

// cpuWatch calls each, every period until stop, with the CPU use of that period.
type cpuWatch struct {
	quit chan struct{}
	wg   sync.WaitGroup
}

func watchCPU(period time.Duration, each func(figures.CPUUsage)) *cpuWatch {
	w := &cpuWatch{quit: make(chan struct{})}
	w.wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		prev := figures.ReadCPU()
		for {
			select {
			case <-w.quit:
				return
			case <-t.C:
				now := figures.ReadCPU()
				each(now.Since(prev))
				prev = now
			}
		}
	})
	return w
}

// stop ends the watching; no call of each runs after it returns.
func (w *cpuWatch) stop() {
	close(w.quit)
	w.wg.Wait()
}

// sampler keeps the lowest idle fraction of one samplePeriod, so that a busy burst
// shows even in a phase that was idle on average.
type sampler struct {
	watch *cpuWatch
	low   float64 // written by the watch's goroutine, read after it ends
	full  bool    // a whole period was measured
}

func startSampler() *sampler {
	s := &sampler{low: 1}
	s.watch = watchCPU(samplePeriod, func(u figures.CPUUsage) {
		s.low, s.full = min(s.low, u.Idle), true
	})
	return s
}

// stop ends the sampling and returns the lowest idle fraction of a period, or whole,
// the idle fraction of the whole phase, when it was shorter than one period.
func (s *sampler) stop(whole float64) float64 {
	s.watch.stop()
	if !s.full {
		return whole
	}
	return min(s.low, whole)
}
