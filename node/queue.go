package node

import "sync"

// queue is a bounded queue of work for the maintenance loop. Unlike a buffered channel
// it holds no memory while empty, which is most of the time: an idle node in a large
// network keeps nothing for its rare liveness checks and hand-offs.
type queue[T any] struct {
	max   int
	ready chan struct{} // holds a token while the queue may be non-empty

	mu    sync.Mutex
	items []T
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{max: max, ready: make(chan struct{}, 1)}
}

// push adds v, or reports false if the queue is full.
func (q *queue[T]) push(v T) bool {
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // a token already waits
	}
	return true
}

// take removes and returns everything queued, and lets go of the queue's memory.
func (q *queue[T]) take() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
