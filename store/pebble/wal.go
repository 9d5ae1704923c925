package pebble

import (
	"errors"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// walCategory is the category Pebble creates its write-ahead log files with
// (wal.StandaloneManager.Create). Were it renamed, the log would be synced as with
// Options.Sync, slower but no less safe; TestUnsyncedWAL would fail.
const walCategory vfs.DiskWriteCategory = "pebble-wal"

// unsyncedWAL is a file system whose write-ahead log files ignore Sync: a commit with
// pdb.Sync still makes Pebble write its WAL buffer out with write(2) before it returns,
// but does not wait for the disk. It is the only way to ask Pebble for that: with
// pdb.NoSync a record stays in the LogWriter's 32 KiB block, in the process's memory,
// until the block fills (record.LogWriter.SyncRecordGeneralized signals the flush loop
// only for a sync, record.LogWriter.queueBlock only for a full block).
//
// A WAL file is still synced when Pebble closes it (rotating to a new one, or closing
// the database), as it is with pdb.NoSync: after a crash of the machine Pebble replays
// every WAL but the last only if it ends cleanly (strictWALTail in DB.replayWAL), and
// the records after a lost tail of the last one are not replayed.
type unsyncedWAL struct{ vfs.FS }

// Create implements vfs.FS.
func (fs unsyncedWAL) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return wrapWAL(f, category), err
}

// ReuseForWrite implements vfs.FS; Pebble recycles old WAL files with it.
func (fs unsyncedWAL) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return wrapWAL(f, category), err
}

func wrapWAL(f vfs.File, category vfs.DiskWriteCategory) vfs.File {
	if f == nil || category != walCategory {
		return f
	}
	return walFile{f}
}

// walFile is a WAL file whose data reaches the operating system with each Write and the
// disk only on Close.
type walFile struct{ vfs.File }

// Sync does nothing: the data was written before Pebble asked for it.
func (walFile) Sync() error { return nil }

// SyncData does nothing, as Sync.
func (walFile) SyncData() error { return nil }

// Close syncs the file, then closes it.
func (f walFile) Close() error {
	return errors.Join(f.File.SyncData(), f.File.Close())
}
