package sim

import (
	"slices"
	"sync"
	"sync/atomic"

	"kad/node"
	"kad/protocol"
)

// traceKey names the lookup an operation runs: node i's lookup of target, a value
// lookup or a node lookup.
type traceKey struct {
	node   int
	target protocol.ID
	value  bool
}

// traceSlot waits for the trace of one operation's lookup.
type traceSlot struct {
	key   traceKey
	trace node.LookupTrace
	ok    bool
}

// traces hands each node's lookup traces (node.Config.OnLookup) to the operations
// waiting for them. A node reports a lookup from the goroutine that ran it, which for
// Put, Get and Lookup is the caller's, before the call returns; so an operation expects
// its trace before the call and takes it after. Lookups nobody expects (joins,
// maintenance) are dropped. Two operations that expect the same key at once (the same
// node getting the same key twice) each get one of the two traces.
type traces struct {
	waiting atomic.Int64 // slots expected and not yet taken: deliver's fast path
	mu      sync.Mutex
	slots   map[traceKey][]*traceSlot
}

// expect registers a slot for the trace of the lookup named by k.
func (t *traces) expect(k traceKey) *traceSlot {
	s := &traceSlot{key: k}
	t.mu.Lock()
	if t.slots == nil {
		t.slots = make(map[traceKey][]*traceSlot)
	}
	t.slots[k] = append(t.slots[k], s)
	t.mu.Unlock()
	t.waiting.Add(1)
	return s
}

// deliver gives node i's trace to the first slot waiting for it, if any.
func (t *traces) deliver(i int, tr node.LookupTrace) {
	if t.waiting.Load() == 0 {
		return
	}
	k := traceKey{node: i, target: tr.Target, value: tr.Value}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.slots[k] {
		if !s.ok {
			s.trace, s.ok = tr, true
			return
		}
	}
}

// take unregisters s and returns the trace delivered to it, if one was.
func (t *traces) take(s *traceSlot) (node.LookupTrace, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.slots[s.key]
	if i := slices.Index(list, s); i >= 0 {
		list = slices.Delete(list, i, i+1)
		t.waiting.Add(-1)
	}
	if len(list) == 0 {
		delete(t.slots, s.key)
	} else {
		t.slots[s.key] = list
	}
	return s.trace, s.ok
}
