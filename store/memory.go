package store

import (
	"sync"
	"time"

	"kad/protocol"
)

// Memory is the default Store: a map guarded by a mutex. Its records are lost when the
// process ends.
type Memory struct {
	mu    sync.RWMutex
	m     map[protocol.ID]Record
	bytes int64 // sum of len(Value) over m
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{m: make(map[protocol.ID]Record)}
}

// Put implements Store. The value is copied.
func (s *Memory) Put(r Record) error {
	r.Value = append([]byte(nil), r.Value...)
	s.mu.Lock()
	s.bytes += int64(len(r.Value)) - int64(len(s.m[r.Key].Value))
	s.m[r.Key] = r
	s.mu.Unlock()
	return nil
}

// Get implements Store. It never fails.
func (s *Memory) Get(key protocol.ID, now time.Time) (Record, bool, error) {
	s.mu.RLock()
	r, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || (!now.IsZero() && r.Expired(now)) {
		return Record{}, false, nil
	}
	return r, true, nil
}

// Delete implements Store.
func (s *Memory) Delete(key protocol.ID) error {
	s.mu.Lock()
	s.bytes -= int64(len(s.m[key].Value))
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

// Len implements Store.
func (s *Memory) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// Bytes implements Store.
func (s *Memory) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// Range implements Store. It works on a snapshot, so f may be slow without holding the
// lock. It never fails.
func (s *Memory) Range(f func(Record) bool) error {
	s.mu.RLock()
	recs := make([]Record, 0, len(s.m))
	for _, r := range s.m {
		recs = append(recs, r)
	}
	s.mu.RUnlock()
	for _, r := range recs {
		if !f(r) {
			return nil
		}
	}
	return nil
}
