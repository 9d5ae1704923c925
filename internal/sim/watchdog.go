package sim

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"kad/internal/figures"
)

// A network that cannot keep up — too many nodes or too much maintenance for the CPUs —
// falls behind: requests queue, time out and are sent again, and the goroutines waiting
// pile up until the process runs out of memory, taking the machine down with it. The
// watchdog stops the run first.

// watchPeriod is how often the watchdog reads the process's memory.
const watchPeriod = time.Second

// defaultMemoryShare is the share of the machine's memory a run may hold by default.
const defaultMemoryShare = 0.75

// fallbackMaxMemory bounds a run's memory where the machine's is not known.
const fallbackMaxMemory = 16 << 30

// watchdog cancels a run whose Go runtime holds more than max bytes of memory (mapped
// and not released to the OS), and keeps the most goroutines it saw.
type watchdog struct {
	max  uint64
	quit chan struct{}
	wg   sync.WaitGroup
	most int // read after stop
}

// startWatchdog watches the process until stop, canceling the run through cancel when
// it holds more than limit bytes.
func startWatchdog(limit uint64, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{max: limit, quit: make(chan struct{})}
	// What the runtime maps, less what it has given back to the OS.
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	w.wg.Go(func() {
		t := time.NewTicker(watchPeriod)
		defer t.Stop()
		for {
			w.most = max(w.most, runtime.NumGoroutine())
			metrics.Read(sample)
			if held := sample[0].Value.Uint64() - sample[1].Value.Uint64(); held > w.max {
				cancel(fmt.Errorf("%w: the process holds %s, more than %s (%d goroutines): the machine cannot keep up with this scenario",
					ErrOverMemory, figures.Bytes(float64(held)), figures.Bytes(float64(w.max)), runtime.NumGoroutine()))
				return
			}
			select {
			case <-w.quit:
				return
			case <-t.C:
			}
		}
	})
	return w
}

// stop ends the watching and returns the most goroutines seen.
func (w *watchdog) stop() int {
	close(w.quit)
	w.wg.Wait()
	return w.most
}

// defaultMaxMemory is defaultMemoryShare of the machine's memory, or fallbackMaxMemory.
func defaultMaxMemory() uint64 {
	if total := figures.MachineMemory(); total > 0 {
		return uint64(float64(total) * defaultMemoryShare)
	}
	return fallbackMaxMemory
}
