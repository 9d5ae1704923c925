package sim

import (
	"sync"
	"time"

	"kad/internal/figures"
)

// samplePeriod is the window over which the least idle stretch of a phase is measured.
const samplePeriod = time.Second

// sampler reads the CPU clocks every samplePeriod, keeping the lowest idle fraction of
// one period, so that a busy burst shows even in a phase that was idle on average.
type sampler struct {
	quit chan struct{}
	wg   sync.WaitGroup
	low  float64 // guarded by wg: written by the goroutine, read after it ends
	full bool    // a whole period was measured
}

func startSampler() *sampler {
	s := &sampler{quit: make(chan struct{}), low: 1}
	s.wg.Go(func() {
		t := time.NewTicker(samplePeriod)
		defer t.Stop()
		prev := figures.ReadCPU()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				now := figures.ReadCPU()
				s.low, s.full = min(s.low, now.Since(prev).Idle), true
				prev = now
			}
		}
	})
	return s
}

// stop ends the sampling and returns the lowest idle fraction of a period, or whole,
// the idle fraction of the whole phase, when it was shorter than one period.
func (s *sampler) stop(whole float64) float64 {
	close(s.quit)
	s.wg.Wait()
	if !s.full {
		return whole
	}
	return min(s.low, whole)
}
