// Package pebblestore is a node.Store kept on disk in a Pebble database (an LSM tree, the
// storage engine of CockroachDB), so that a node's records survive a restart.
//
//	s, err := pebblestore.Open(filepath.Join(dataDir, "records"), pebblestore.Options{})
//	...
//	defer s.Close() // after the node's Close
//	n, err := node.New(node.Config{Store: s}, tr)
//
// Each record is one key, "r" followed by its 20-byte key, whose value is a version byte
// (1), the expiry and the time it was stored as Unix nanoseconds (8 bytes big-endian each),
// the publisher's 20-byte ID, then the value. Writes go to Pebble's write-ahead log without
// an fsync unless Options.Sync is set: a crashed process loses nothing, a crashed machine
// at most its last writes, and the database stays consistent either way.
package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"kad/node"
	"kad/protocol"
)

// Options tunes a Store. Zero values mean the defaults.
type Options struct {
	// Logger receives Pebble's logs and the store's own warnings. Default: discard.
	Logger *slog.Logger
	// Sync makes every write wait for the disk (fsync), at a cost of milliseconds each.
	Sync bool
}

// Store is a node.Store in a Pebble database. It is safe for concurrent use.
type Store struct {
	db    *pebble.DB
	wo    *pebble.WriteOptions
	log   *slog.Logger
	mu    sync.Mutex // serializes writes, so that count and bytes follow them exactly
	count int
	bytes int64
}

var _ node.Store = (*Store)(nil)

const (
	recordPrefix  = 'r'
	recordVersion = 1
	headerLen     = 1 + 8 + 8 + protocol.IDBytes
)

// ErrCorrupt is returned by Open when the database holds a record it cannot read.
var ErrCorrupt = errors.New("corrupt record")

// Open opens the database in dir, creating it if missing, and counts the records in it.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// The plain OS file system: Pebble's default wraps it in a disk-health checker whose
	// goroutine outlives a failed Open.
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{opts.Logger}, FS: vfs.Default})
	if err != nil {
		return nil, fmt.Errorf("open record store %s: %w", dir, err)
	}
	s := &Store{db: db, wo: pebble.NoSync, log: opts.Logger}
	if opts.Sync {
		s.wo = pebble.Sync
	}
	var bad error
	s.scan(func(key, value []byte) bool {
		r, err := decode(key, value)
		if err != nil {
			bad = fmt.Errorf("open record store %s: %w", dir, err)
			return false
		}
		s.count++
		s.bytes += int64(len(r.Value))
		return true
	})
	if bad != nil {
		db.Close()
		return nil, bad
	}
	return s, nil
}

// Close closes the database. The store must not be used afterwards.
func (s *Store) Close() error { return s.db.Close() }

// Put implements node.Store.
func (s *Store) Put(r node.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := dbKey(r.Key)
	old, found, err := s.raw(key[:])
	if err != nil {
		return fmt.Errorf("put %s: %w", r.Key.Short(), err)
	}
	if err := s.db.Set(key[:], encode(r), s.wo); err != nil {
		return fmt.Errorf("put %s: %w", r.Key.Short(), err)
	}
	if found {
		s.bytes -= int64(len(old) - headerLen)
	} else {
		s.count++
	}
	s.bytes += int64(len(r.Value))
	return nil
}

// Get implements node.Store. A record that cannot be read is reported as absent, and
// logged.
func (s *Store) Get(key protocol.ID, now time.Time) (node.Record, bool) {
	k := dbKey(key)
	value, found, err := s.raw(k[:])
	if err != nil || !found {
		if err != nil {
			s.log.Warn("record store read failed", "key", key.Short(), "err", err)
		}
		return node.Record{}, false
	}
	r, err := decode(k[:], value)
	if err != nil {
		s.log.Warn("record store holds an unreadable record", "key", key.Short(), "err", err)
		return node.Record{}, false
	}
	if !r.Expires.IsZero() && !now.Before(r.Expires) {
		return node.Record{}, false
	}
	return r, true
}

// Delete implements node.Store.
func (s *Store) Delete(key protocol.ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := dbKey(key)
	old, found, err := s.raw(k[:])
	if err != nil {
		return fmt.Errorf("delete %s: %w", key.Short(), err)
	}
	if !found {
		return nil
	}
	if err := s.db.Delete(k[:], s.wo); err != nil {
		return fmt.Errorf("delete %s: %w", key.Short(), err)
	}
	s.count--
	s.bytes -= int64(len(old) - headerLen)
	return nil
}

// Len implements node.Store.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Bytes implements node.Store.
func (s *Store) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Range implements node.Store. It reads a consistent snapshot; records that cannot be
// read are skipped and logged.
func (s *Store) Range(f func(node.Record) bool) {
	s.scan(func(key, value []byte) bool {
		r, err := decode(key, value)
		if err != nil {
			s.log.Warn("record store holds an unreadable record", "err", err)
			return true
		}
		return f(r)
	})
}

// scan calls f with each record's raw key and value until f returns false.
func (s *Store) scan(f func(key, value []byte) bool) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{recordPrefix}, UpperBound: []byte{recordPrefix + 1}})
	if err != nil {
		s.log.Warn("record store scan failed", "err", err)
		return
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		value, err := it.ValueAndErr()
		if err != nil {
			s.log.Warn("record store scan failed", "err", err)
			return
		}
		if !f(it.Key(), value) {
			return
		}
	}
	if err := it.Error(); err != nil {
		s.log.Warn("record store scan failed", "err", err)
	}
}

// raw returns a copy of the stored bytes under key.
func (s *Store) raw(key []byte) ([]byte, bool, error) {
	value, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return append([]byte(nil), value...), true, nil
}

func dbKey(id protocol.ID) [1 + protocol.IDBytes]byte {
	var k [1 + protocol.IDBytes]byte
	k[0] = recordPrefix
	copy(k[1:], id[:])
	return k
}

func encode(r node.Record) []byte {
	b := make([]byte, headerLen, headerLen+len(r.Value))
	b[0] = recordVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(unixNano(r.Expires)))
	binary.BigEndian.PutUint64(b[9:17], uint64(unixNano(r.Stored)))
	copy(b[17:headerLen], r.Publisher[:])
	return append(b, r.Value...)
}

// decode reads a record; it copies what it keeps out of value.
func decode(key, value []byte) (node.Record, error) {
	if len(key) != 1+protocol.IDBytes || key[0] != recordPrefix {
		return node.Record{}, fmt.Errorf("%w: key of %d bytes", ErrCorrupt, len(key))
	}
	if len(value) < headerLen || value[0] != recordVersion {
		return node.Record{}, fmt.Errorf("%w: %s: value of %d bytes, version %v", ErrCorrupt, protocol.ID(key[1:]).Short(), len(value), value[:min(len(value), 1)])
	}
	r := node.Record{
		Key:       protocol.ID(key[1:]),
		Expires:   fromUnixNano(int64(binary.BigEndian.Uint64(value[1:9]))),
		Stored:    fromUnixNano(int64(binary.BigEndian.Uint64(value[9:17]))),
		Publisher: protocol.ID(value[17:headerLen]),
		Value:     append([]byte{}, value[headerLen:]...),
	}
	return r, nil
}

// unixNano is t as Unix nanoseconds, 0 for the zero time ("never").
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// pebbleLogger sends Pebble's logs to slog. Pebble calls Fatalf only when it cannot go on
// (its disk failed under it); that panics with the message, where Pebble's own logger
// would exit the process.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.log.Error("pebble: " + fmt.Sprintf(format, args...))
	panic(fmt.Sprintf("pebble: "+format, args...))
}
