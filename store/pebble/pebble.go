package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pdb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"kad/protocol"
	"kad/store"
)

// Options tunes a Store. Zero values mean the defaults.
type Options struct {
	// Logger receives Pebble's logs and the store's own warnings. Default: discard.
	Logger *slog.Logger
	// Sync makes every write wait for the disk (fdatasync of the write-ahead log), so
	// that it survives a crash of the machine, not only of the process. It costs a sync
	// of the disk each write, shared by the writes running at the same time.
	Sync bool
}

// Store is a store.Store in a Pebble database. It is safe for concurrent use.
type Store struct {
	db  *pdb.DB
	wo  *pdb.WriteOptions
	log *slog.Logger
	// mu serializes applying writes, so that count and bytes follow them exactly; a
	// writer waits for the log without it (write).
	mu    sync.Mutex
	count int
	bytes int64

	prefix    byte   // of the keys of this store's records
	published *Store // the records the node published, under their own prefix; nil in that view
}

var _ store.Store = (*Store)(nil)

const (
	recordPrefix    = 'r'
	publishedPrefix = 'p'
	recordVersion   = 1
	headerLen       = 1 + 8 + 8 + protocol.IDBytes
)

// ErrCorrupt is returned by Open when the database holds a record it cannot read.
var ErrCorrupt = errors.New("corrupt record")

// Open opens the database in dir, creating it if missing, and counts the records in it.
func Open(dir string, opts Options) (*Store, error) {
	return open(dir, opts, pdb.Sync)
}

// open is Open with the write options of every write. Open passes pdb.Sync; pdb.NoSync,
// with which a write that returned may still be in the process's memory, is the
// benchmarks' baseline (OpenNoSync).
func open(dir string, opts Options, wo *pdb.WriteOptions) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// The plain OS file system: Pebble's default wraps it in a disk-health checker whose
	// goroutine outlives a failed Open.
	var fs vfs.FS = vfs.Default
	if !opts.Sync && wo.Sync {
		fs = unsyncedWAL{fs}
	}
	db, err := pdb.Open(dir, &pdb.Options{Logger: pebbleLogger{opts.Logger}, FS: fs})
	if err != nil {
		return nil, fmt.Errorf("open record store %s: %w", dir, err)
	}
	s := &Store{db: db, wo: wo, log: opts.Logger, prefix: recordPrefix}
	s.published = &Store{db: db, wo: wo, log: opts.Logger, prefix: publishedPrefix}
	for _, v := range []*Store{s, s.published} {
		if err := v.Range(func(r store.Record) bool {
			v.count++
			v.bytes += int64(len(r.Value))
			return true
		}); err != nil {
			db.Close()
			return nil, fmt.Errorf("open record store %s: %w", dir, err)
		}
	}
	return s, nil
}

// Published returns the store of the records the node published (node.Config.Published),
// kept in the same database under keys of their own: a second store.Store whose writes
// are as durable as the first's. It is closed with s; its own Close does nothing.
func (s *Store) Published() *Store {
	if s.published == nil {
		return s
	}
	return s.published
}

// Close closes the database, which Published's store shares. The store must not be used
// afterwards.
func (s *Store) Close() error {
	if s.prefix != recordPrefix {
		return nil
	}
	return s.db.Close()
}

// Put implements store.Store. It returns once the record is in the write-ahead log, as
// the package documentation says.
func (s *Store) Put(r store.Record) error {
	key := s.dbKey(r.Key)
	b := s.db.NewBatch()
	if err := b.Set(key[:], encode(r), nil); err != nil {
		b.Close()
		return fmt.Errorf("put %s: %w", r.Key.Short(), err)
	}
	err := s.write(b, key[:], func(old []byte, found bool) {
		if found {
			s.bytes -= int64(len(old) - headerLen)
		} else {
			s.count++
		}
		s.bytes += int64(len(r.Value))
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", r.Key.Short(), err)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(key protocol.ID, now time.Time) (store.Record, bool, error) {
	k := s.dbKey(key)
	value, found, err := s.raw(k[:])
	if err != nil {
		return store.Record{}, false, fmt.Errorf("get %s: %w", key.Short(), err)
	}
	if !found {
		return store.Record{}, false, nil
	}
	r, err := s.decode(k[:], value)
	if err != nil {
		return store.Record{}, false, fmt.Errorf("get %s: %w", key.Short(), err)
	}
	if !now.IsZero() && r.Expired(now) {
		return store.Record{}, false, nil
	}
	return r, true, nil
}

// Delete implements store.Store. It writes a deletion even when key is missing: a
// Delete that found nothing may have come just after another Delete of key, and must not
// return before that one's deletion is in the log.
func (s *Store) Delete(key protocol.ID) error {
	k := s.dbKey(key)
	b := s.db.NewBatch()
	if err := b.Delete(k[:], nil); err != nil {
		b.Close()
		return fmt.Errorf("delete %s: %w", key.Short(), err)
	}
	err := s.write(b, k[:], func(old []byte, found bool) {
		if found {
			s.count--
			s.bytes -= int64(len(old) - headerLen)
		}
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", key.Short(), err)
	}
	return nil
}

// write commits b, a write of key, and closes it. Under s.mu it reads what key held,
// applies b (which makes it visible) and calls account with what it read; then, without
// s.mu, it waits for b's log record to be written (and with Options.Sync, synced). So
// writers running at the same time queue their records in the log one after the other
// and share one write of it, while count and bytes follow the order the database
// applied them in.
func (s *Store) write(b *pdb.Batch, key []byte, account func(old []byte, found bool)) error {
	defer b.Close()
	s.mu.Lock()
	old, found, err := s.raw(key)
	if err == nil {
		if s.wo.Sync {
			err = s.db.ApplyNoSyncWait(b, s.wo)
		} else {
			err = s.db.Apply(b, s.wo)
		}
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	account(old, found)
	s.mu.Unlock()
	if s.wo.Sync {
		return b.SyncWait()
	}
	return nil
}

// Len implements store.Store.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Bytes implements store.Store.
func (s *Store) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Range implements store.Store. It reads a consistent snapshot. A record that cannot be
// read ends it with an error matching ErrCorrupt.
func (s *Store) Range(f func(store.Record) bool) error {
	var bad error
	err := s.scan(func(key, value []byte) bool {
		r, err := s.decode(key, value)
		if err != nil {
			bad = err
			return false
		}
		return f(r)
	})
	if bad != nil {
		return fmt.Errorf("range: %w", bad)
	}
	return err
}

// scan calls f with each record's raw key and value until f returns false.
func (s *Store) scan(f func(key, value []byte) bool) error {
	it, err := s.db.NewIter(&pdb.IterOptions{LowerBound: []byte{s.prefix}, UpperBound: []byte{s.prefix + 1}})
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		value, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if !f(it.Key(), value) {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return nil
}

// raw returns a copy of the stored bytes under key.
func (s *Store) raw(key []byte) ([]byte, bool, error) {
	value, closer, err := s.db.Get(key)
	if errors.Is(err, pdb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return append([]byte(nil), value...), true, nil
}

func (s *Store) dbKey(id protocol.ID) [1 + protocol.IDBytes]byte {
	var k [1 + protocol.IDBytes]byte
	k[0] = s.prefix
	copy(k[1:], id[:])
	return k
}

func encode(r store.Record) []byte {
	b := make([]byte, headerLen, headerLen+len(r.Value))
	b[0] = recordVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(unixNano(r.Expires)))
	binary.BigEndian.PutUint64(b[9:17], uint64(unixNano(r.Stored)))
	copy(b[17:headerLen], r.Sender[:])
	return append(b, r.Value...)
}

// decode reads a record; it copies what it keeps out of value.
func (s *Store) decode(key, value []byte) (store.Record, error) {
	if len(key) != 1+protocol.IDBytes || key[0] != s.prefix {
		return store.Record{}, fmt.Errorf("%w: key of %d bytes", ErrCorrupt, len(key))
	}
	if len(value) < headerLen || value[0] != recordVersion {
		return store.Record{}, fmt.Errorf("%w: %s: value of %d bytes, version %v", ErrCorrupt, protocol.ID(key[1:]).Short(), len(value), value[:min(len(value), 1)])
	}
	r := store.Record{
		Key:     protocol.ID(key[1:]),
		Expires: fromUnixNano(int64(binary.BigEndian.Uint64(value[1:9]))),
		Stored:  fromUnixNano(int64(binary.BigEndian.Uint64(value[9:17]))),
		Sender:  protocol.ID(value[17:headerLen]),
		Value:   append([]byte{}, value[headerLen:]...),
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
