package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"kad/protocol"
	"kad/store"
)

// Factory returns a new, empty store; the suite does not close it.
type Factory func(t *testing.T) store.Store

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func record(key string, value string, ttl time.Duration) store.Record {
	return store.Record{
		Key:     protocol.KeyFromString(key),
		Value:   []byte(value),
		Expires: now.Add(ttl),
		Stored:  now,
		Sender:  protocol.KeyFromString("sender of " + key),
	}
}

// get calls s.Get and fails the test on an error.
func get(t *testing.T, s store.Store, key protocol.ID, at time.Time) (store.Record, bool) {
	t.Helper()
	r, found, err := s.Get(key, at)
	if err != nil {
		t.Fatalf("get %s: %v", key.Short(), err)
	}
	return r, found
}

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, newStore Factory) {
	t.Run("PutGet", func(t *testing.T) {
		s := newStore(t)
		r := record("a", "value a", time.Hour)
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
		got, ok := get(t, s, r.Key, now)
		if !ok {
			t.Fatal("record not found")
		}
		if !got.Expires.Equal(r.Expires) || !got.Stored.Equal(r.Stored) || got.Key != r.Key ||
			got.Sender != r.Sender || !bytes.Equal(got.Value, r.Value) {
			t.Fatalf("got %+v, want %+v", got, r)
		}
		if _, ok := get(t, s, protocol.KeyFromString("missing"), now); ok {
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
		got, _ := get(t, s, r.Key, now)
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
		if got, ok := get(t, s, r.Key, now); !ok || len(got.Value) != 0 {
			t.Fatalf("empty value: %q, %v", got.Value, ok)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		s := newStore(t)
		r := record("a", "v", time.Minute)
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(t, s, r.Key, now.Add(time.Minute-time.Nanosecond)); !ok {
			t.Fatal("record gone before it expired")
		}
		if _, ok := get(t, s, r.Key, now.Add(time.Minute)); ok {
			t.Fatal("expired record returned")
		}
		// The zero time reads a record whatever its expiry (a node counts the bytes of
		// an expired record it has not yet removed).
		if got, ok := get(t, s, r.Key, time.Time{}); !ok || string(got.Value) != "v" {
			t.Fatalf("Get at the zero time: %q, %v; want the expired record", got.Value, ok)
		}
		seen := 0
		if err := s.Range(func(store.Record) bool { seen++; return true }); err != nil || seen != 1 {
			t.Fatalf("Range over an expired record: %d records, %v; want 1", seen, err)
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
		if got, _ := get(t, s, protocol.KeyFromString("a"), now); string(got.Value) != "1" {
			t.Fatalf("replaced value: %q", got.Value)
		}
		if err := s.Delete(protocol.KeyFromString("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(protocol.KeyFromString("never there")); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		if _, ok := get(t, s, protocol.KeyFromString("a"), now); ok || s.Len() != 1 || s.Bytes() != 3 {
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
		if err := s.Range(func(r store.Record) bool {
			got[r.Key] = string(r.Value)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("Range visited %d records, want %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("Range gave %q for %s, want %q", got[k], k.Short(), v)
			}
		}
		n := 0
		if err := s.Range(func(store.Record) bool { n++; return n < 10 }); err != nil {
			t.Fatal(err)
		}
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
					if _, _, err := s.Get(r.Key, now); err != nil {
						t.Error(err)
						return
					}
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
