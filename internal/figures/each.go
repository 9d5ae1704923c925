package figures

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Each calls do(ctx, i) for every i in [0, count), from callers goroutines that each
// take the next i as they finish one, so that at most callers calls run at once. Each
// call's context ends after timeout. done, when not nil, counts the calls that
// returned. Each returns when every call has, or, once ctx ends, without starting more.
func Each(ctx context.Context, count, callers int, timeout time.Duration, done *atomic.Int64, do func(ctx context.Context, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(callers, count) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= count || ctx.Err() != nil {
					return
				}
				octx, cancel := context.WithTimeout(ctx, timeout)
				do(octx, i)
				cancel()
				if done != nil {
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
}
