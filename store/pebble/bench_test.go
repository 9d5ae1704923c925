package pebble_test

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"kad/protocol"
	"kad/store"
	"kad/store/pebble"
)

// durabilities are the ways a store can write: as it once did, with a write still in the
// process's memory when Put returns (the baseline); by default; and with Options.Sync.
var durabilities = []struct {
	name string
	open func(dir string) (*pebble.Store, error)
}{
	{"NoSync", pebble.OpenNoSync},
	{"Default", func(dir string) (*pebble.Store, error) { return pebble.Open(dir, pebble.Options{}) }},
	{"Sync", func(dir string) (*pebble.Store, error) { return pebble.Open(dir, pebble.Options{Sync: true}) }},
}

// putter returns a function storing a new 100-byte record on each call, from any
// goroutine.
func putter(b *testing.B, s *pebble.Store) func() {
	var n atomic.Uint64
	value := make([]byte, 100)
	expires := time.Now().Add(time.Hour)
	return func() {
		var key protocol.ID
		binary.BigEndian.PutUint64(key[:], n.Add(1))
		if err := s.Put(store.Record{Key: key, Value: value, Expires: expires}); err != nil {
			b.Error(err)
		}
	}
}

func openBench(b *testing.B, open func(string) (*pebble.Store, error)) *pebble.Store {
	b.Helper()
	s, err := open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkPut stores records one after the other.
func BenchmarkPut(b *testing.B) {
	for _, d := range durabilities {
		b.Run(d.name, func(b *testing.B) {
			put := putter(b, openBench(b, d.open))
			b.ReportAllocs()
			for b.Loop() {
				put()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}

// BenchmarkPutParallel stores records from 8 goroutines a core, as a node does when
// STOREs arrive together.
func BenchmarkPutParallel(b *testing.B) {
	for _, d := range durabilities {
		b.Run(d.name, func(b *testing.B) {
			put := putter(b, openBench(b, d.open))
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					put()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}
