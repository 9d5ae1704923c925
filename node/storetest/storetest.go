// Package storetest is the conformance suite every node.Store must pass.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) node.Store { return node.NewMemoryStore() })
//	}
package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"kad/node"
	"kad/protocol"
)

// Factory returns a new, empty store; the suite does not close it.
type Factory func(t *testing.T) node.Store

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func record(key string, value string, ttl time.Duration) node.Record {
	return node.Record{
		Key:       protocol.KeyFromString(key),
		Value:     []byte(value),
		Expires:   now.Add(ttl),
		Stored:    now,
		Publisher: protocol.KeyFromString("publisher of " + key),
	}
}

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, newStore Factory) {
	t.Run("PutGet", func(t *testing.T) {
		s := newStore(t)
		r := record("a", "value a", time.Hour)
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
		got, ok := s.Get(r.Key, now)
		if !ok {
			t.Fatal("record not found")
		}
		if !got.Expires.Equal(r.Expires) || !got.Stored.Equal(r.Stored) || got.Key != r.Key ||
			got.Publisher != r.Publisher || !bytes.Equal(got.Value, r.Value) {
			t.Fatalf("got %+v, want %+v", got, r)
		}
		if _, ok := s.Get(protocol.KeyFromString("missing"), now); ok {
			t.Fatal("missing key found")
		}
	})
	t.Run("ValueCopied", func(t *testing.T) {
		s := newStore(t)
		r := record("a", "value a", time.Hour)
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
		r.Value[0] = 'X'
		got, _ := s.Get(r.Key, now)
		if string(got.Value) != "value a" {
			t.Fatalf("store kept the caller's buffer: %q", got.Value)
		}
	})
	t.Run("EmptyValue", func(t *testing.T) {
		s := newStore(t)
		r := record("e", "", time.Hour)
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
		if got, ok := s.Get(r.Key, now); !ok || len(got.Value) != 0 {
			t.Fatalf("empty value: %q, %v", got.Value, ok)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		s := newStore(t)
		r := record("a", "v", time.Minute)
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Get(r.Key, now.Add(time.Minute-time.Nanosecond)); !ok {
			t.Fatal("record gone before it expired")
		}
		if _, ok := s.Get(r.Key, now.Add(time.Minute)); ok {
			t.Fatal("expired record returned")
		}
	})
	t.Run("ReplaceAndDelete", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(record("a", "12345", time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(record("b", "123", time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(record("a", "1", time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s.Len() != 2 || s.Bytes() != 4 {
			t.Fatalf("Len %d, Bytes %d; want 2, 4", s.Len(), s.Bytes())
		}
		if got, _ := s.Get(protocol.KeyFromString("a"), now); string(got.Value) != "1" {
			t.Fatalf("replaced value: %q", got.Value)
		}
		if err := s.Delete(protocol.KeyFromString("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(protocol.KeyFromString("never there")); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		if _, ok := s.Get(protocol.KeyFromString("a"), now); ok || s.Len() != 1 || s.Bytes() != 3 {
			t.Fatalf("after delete: found %v, Len %d, Bytes %d", ok, s.Len(), s.Bytes())
		}
	})
	t.Run("Range", func(t *testing.T) {
		s := newStore(t)
		want := map[protocol.ID]string{}
		for i := range 50 {
			r := record(fmt.Sprint("k", i), fmt.Sprint("v", i), time.Hour)
			want[r.Key] = string(r.Value)
			if err := s.Put(r); err != nil {
				t.Fatal(err)
			}
		}
		got := map[protocol.ID]string{}
		s.Range(func(r node.Record) bool {
			got[r.Key] = string(r.Value)
			return true
		})
		if len(got) != len(want) {
			t.Fatalf("Range visited %d records, want %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("Range gave %q for %s, want %q", got[k], k.Short(), v)
			}
		}
		n := 0
		s.Range(func(node.Record) bool { n++; return n < 10 })
		if n != 10 {
			t.Fatalf("Range went on after f returned false: %d calls", n)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					r := record(fmt.Sprint(g, "-", i), "v", time.Hour)
					if err := s.Put(r); err != nil {
						t.Error(err)
						return
					}
					s.Get(r.Key, now)
					if i%2 == 0 {
						s.Delete(r.Key)
					}
				}
			}()
		}
		wg.Wait()
		if s.Len() != 100 || s.Bytes() != 100 {
			t.Fatalf("Len %d, Bytes %d after concurrent use; want 100, 100", s.Len(), s.Bytes())
		}
	})
}
