package node

import (
	"sync"
	"time"

	"kad/protocol"
)

// MemoryStore is the default Store: a map guarded by a mutex.
type MemoryStore struct {
	mu    sync.RWMutex
	m     map[protocol.ID]Record
	bytes int64 // sum of len(Value) over m
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: make(map[protocol.ID]Record)}
}

// Put implements Store. The value is copied.
func (s *MemoryStore) Put(r Record) error {
	r.Value = append([]byte(nil), r.Value...)
	s.mu.Lock()
	s.bytes += int64(len(r.Value)) - int64(len(s.m[r.Key].Value))
	s.m[r.Key] = r
	s.mu.Unlock()
	return nil
}

// Get implements Store. The returned value must not be modified.
func (s *MemoryStore) Get(key protocol.ID, now time.Time) (Record, bool) {
	s.mu.RLock()
	r, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || (!r.Expires.IsZero() && !now.Before(r.Expires)) {
		return Record{}, false
	}
	return r, true
}

// Delete implements Store.
func (s *MemoryStore) Delete(key protocol.ID) error {
	s.mu.Lock()
	s.bytes -= int64(len(s.m[key].Value))
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

// Len implements Store.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// Bytes implements Store.
func (s *MemoryStore) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// Range implements Store. It works on a snapshot, so f may be slow without holding the lock.
func (s *MemoryStore) Range(f func(Record) bool) {
	s.mu.RLock()
	recs := make([]Record, 0, len(s.m))
	for _, r := range s.m {
		recs = append(recs, r)
	}
	s.mu.RUnlock()
	for _, r := range recs {
		if !f(r) {
			return
		}
	}
}
