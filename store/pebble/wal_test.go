package pebble

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	pdb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestUnsyncedWAL: with unsyncedWAL, synced commits never sync the log file (so Pebble
// still names its WAL files' category walCategory), and closing the database syncs it.
func TestUnsyncedWAL(t *testing.T) {
	fs := &syncCounter{FS: vfs.Default}
	db, err := pdb.Open(t.TempDir(), &pdb.Options{FS: unsyncedWAL{fs}, Logger: pebbleLogger{slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := db.Set([]byte(k), []byte("v"), pdb.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if n := fs.syncs.Load(); n != 0 {
		t.Errorf("%d syncs of the log after three synced commits, want 0", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fs.syncs.Load() == 0 {
		t.Error("closing the database did not sync the log")
	}
}

// syncCounter counts the syncs of the log files it creates.
type syncCounter struct {
	vfs.FS
	syncs atomic.Int32
}

func (fs *syncCounter) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return countedFile{f, &fs.syncs}, nil
}

type countedFile struct {
	vfs.File
	syncs *atomic.Int32
}

func (f countedFile) Sync() error {
	f.syncs.Add(1)
	return f.File.Sync()
}

func (f countedFile) SyncData() error {
	f.syncs.Add(1)
	return f.File.SyncData()
}
