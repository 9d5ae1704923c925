package figures

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress prints "label done/total" to w every every until the returned function is
// called, which waits for the printing goroutine to end. A nil w prints nothing.
func Progress(w io.Writer, label string, every time.Duration, total int64, done *atomic.Int64) (stop func()) {
	if w == nil || every <= 0 {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				fmt.Fprintf(w, "%s %d/%d\n", label, done.Load(), total)
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}
