package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File names inside the directory.
const (
	lockName     = "lock"
	keyName      = "node.key"
	recordsName  = "records"
	snapshotName = "contacts.json"
	historyName  = "history"
)

// Dir is an open data directory. Its lock is held until Close.
type Dir struct {
	path string
	lock *os.File
}

// Open opens the data directory at path, creating it (mode 0700) if missing, and takes
// its lock. It fails with an error matching ErrInUse if another process holds the lock,
// and with one naming the directory if it is not a directory or cannot be written.
func Open(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", path, err)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s: not a directory", path)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", path, err)
	}
	f, err := os.OpenFile(filepath.Join(abs, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: cannot be written: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		holder := readHolder(f)
		f.Close()
		if err == errLocked {
			return nil, fmt.Errorf("data directory %s: %w%s; stop it or choose another directory", path, ErrInUse, holder)
		}
		return nil, fmt.Errorf("data directory %s: lock: %w", path, err)
	}
	// The holder's process ID, for the message of the next Open while this one runs.
	if err := writeHolder(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s: cannot be written: %w", path, err)
	}
	return &Dir{path: abs, lock: f}, nil
}

// writeHolder writes this process's ID into the lock file f.
func writeHolder(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readHolder returns " (process N)" from a lock file holding N, or "".
func readHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (process %d)", pid)
}

// Path returns the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// KeyFile returns the path of the node's key file.
func (d *Dir) KeyFile() string { return filepath.Join(d.path, keyName) }

// RecordsDir returns the path of the record database.
func (d *Dir) RecordsDir() string { return filepath.Join(d.path, recordsName) }

// HistoryFile returns the path of the console's history.
func (d *Dir) HistoryFile() string { return filepath.Join(d.path, historyName) }

// SnapshotFile returns the path of the routing-table snapshot.
func (d *Dir) SnapshotFile() string { return filepath.Join(d.path, snapshotName) }

// Close releases the lock. The lock file stays, so that nothing is deleted.
func (d *Dir) Close() error {
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close() // closing the descriptor releases the lock
	d.lock = nil
	return err
}
