package pebble_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pdb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"kad/protocol"
	"kad/store"
	"kad/store/pebble"
	"kad/store/storetest"
)

func open(t *testing.T, dir string) *pebble.Store {
	t.Helper()
	s, err := pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t, t.TempDir())
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConformancePublished(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t, t.TempDir())
		t.Cleanup(func() { s.Close() })
		return s.Published()
	})
}

// TestPublishedApart: the published records and the others share the database but not
// their keys, counts or sizes, and both survive a reopen.
func TestPublishedApart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	key := protocol.KeyFromString("shared key")
	if err := s.Put(store.Record{Key: key, Value: []byte("held for others")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Published().Put(store.Record{Key: key, Value: []byte("mine")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Published().Put(store.Record{Key: protocol.KeyFromString("other"), Value: []byte("also mine")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Published().Close(); err != nil { // does nothing: s owns the database
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	if s.Len() != 1 || s.Bytes() != int64(len("held for others")) {
		t.Errorf("records: %d of %d bytes, want 1 of %d", s.Len(), s.Bytes(), len("held for others"))
	}
	p := s.Published()
	if p.Len() != 2 || p.Bytes() != int64(len("mine")+len("also mine")) {
		t.Errorf("published: %d of %d bytes, want 2 of %d", p.Len(), p.Bytes(), len("mine")+len("also mine"))
	}
	for _, c := range []struct {
		s    store.Store
		want string
	}{{s, "held for others"}, {p, "mine"}} {
		r, found, err := c.s.Get(key, time.Time{})
		if err != nil || !found || string(r.Value) != c.want {
			t.Errorf("get: %q, %v, %v; want %q", r.Value, found, err, c.want)
		}
	}
	if err := p.Delete(key); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Get(key, time.Time{}); !found {
		t.Error("deleting the published record deleted the other one")
	}
}

// TestReopen: records, their count and their size survive closing and opening again.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	s := open(t, dir)
	keep := store.Record{Key: protocol.KeyFromString("keep"), Value: []byte("kept"), Expires: now.Add(time.Hour), Stored: now, Sender: protocol.KeyFromString("p")}
	gone := store.Record{Key: protocol.KeyFromString("gone"), Value: []byte("deleted"), Expires: now.Add(time.Hour)}
	for _, r := range []store.Record{keep, gone} {
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(gone.Key); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	if s.Len() != 1 || s.Bytes() != int64(len(keep.Value)) {
		t.Fatalf("after reopening: Len %d, Bytes %d; want 1, %d", s.Len(), s.Bytes(), len(keep.Value))
	}
	got, ok, err := s.Get(keep.Key, now)
	if !ok || string(got.Value) != "kept" || !got.Expires.Equal(keep.Expires) || !got.Stored.Equal(keep.Stored) || got.Sender != keep.Sender || err != nil {
		t.Fatalf("after reopening: %+v, %v", got, ok)
	}
	if _, ok, _ := s.Get(gone.Key, now); ok {
		t.Fatal("deleted record back after reopening")
	}
}

// TestWritesLeaveTheProcess: a write that returned is in the files, not only in the
// process's memory. The directory is copied while the store is still open, as a process
// killed at that moment leaves it, and the copy opens with every record.
func TestWritesLeaveTheProcess(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts pebble.Options
	}{
		{"default", pebble.Options{}},
		{"Sync", pebble.Options{Sync: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := pebble.Open(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var keys []protocol.ID
			for i := range 20 {
				r := store.Record{Key: protocol.KeyFromString(fmt.Sprint("k", i)), Value: []byte("v")}
				if err := s.Put(r); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, r.Key)
			}
			if err := s.Delete(keys[0]); err != nil {
				t.Fatal(err)
			}

			crashed := copyDir(t, dir)
			c := open(t, crashed)
			defer c.Close()
			if c.Len() != 19 || c.Bytes() != 19 {
				t.Errorf("copy of the open store: Len %d, Bytes %d; want 19, 19", c.Len(), c.Bytes())
			}
			for _, key := range keys[1:] {
				if _, ok, err := c.Get(key, time.Time{}); !ok || err != nil {
					t.Errorf("copy of the open store: %s missing (%v)", key.Short(), err)
				}
			}
			if _, ok, _ := c.Get(keys[0], time.Time{}); ok {
				t.Errorf("copy of the open store: deleted %s is back", keys[0].Short())
			}
		})
	}
}

// TestConcurrentWritesCounted: writers that share a write of the log still keep Len and
// Bytes exact when they replace and delete the same keys.
func TestConcurrentWritesCounted(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := protocol.KeyFromString(fmt.Sprint("k", i%10))
				var err error
				if (g+i)%5 == 0 {
					err = s.Delete(key)
				} else {
					err = s.Put(store.Record{Key: key, Value: make([]byte, g+i%7)})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n, size := 0, int64(0)
	if err := s.Range(func(r store.Record) bool {
		n++
		size += int64(len(r.Value))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if s.Len() != n || s.Bytes() != size {
		t.Fatalf("Len %d, Bytes %d; the records are %d of %d bytes", s.Len(), s.Bytes(), n, size)
	}
}

// copyDir copies the files of dir into a new temporary directory and returns it.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestOpenRefusesBadInput: a directory that is not a database, or a database holding a
// record it cannot read, is refused with a clear error naming the path, never a panic.
func TestOpenRefusesBadInput(t *testing.T) {
	t.Run("file in place of the directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "records")
		if err := os.WriteFile(path, []byte("not a database"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := pebble.Open(path, pebble.Options{})
		if err == nil {
			t.Fatal("opened a plain file as a database")
		}
		if !contains(err.Error(), path) {
			t.Fatalf("error %q does not name %s", err, path)
		}
	})
	t.Run("garbage manifest", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		s.Close()
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if len(e.Name()) > 8 && e.Name()[:8] == "MANIFEST" {
				if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte("garbage garbage garbage"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		if s, err := pebble.Open(dir, pebble.Options{}); err == nil {
			s.Close()
			t.Fatal("opened a database with a garbage manifest")
		}
	})
	t.Run("unreadable record", func(t *testing.T) {
		dir := t.TempDir()
		db, err := pdb.Open(dir, &pdb.Options{FS: vfs.Default})
		if err != nil {
			t.Fatal(err)
		}
		key := append([]byte{'r'}, make([]byte, protocol.IDBytes)...)
		if err := db.Set(key, []byte{9, 9, 9}, pdb.Sync); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err = pebble.Open(dir, pebble.Options{})
		if !errors.Is(err, pebble.ErrCorrupt) {
			t.Fatalf("got %v, want ErrCorrupt", err)
		}
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
