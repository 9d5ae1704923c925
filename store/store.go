package store

import (
	"time"

	"kad/protocol"
)

// Record is one stored key/value pair.
type Record struct {
	Key     protocol.ID
	Value   []byte
	Expires time.Time // the zero time: never
	// Stored is when this node last received the record.
	Stored time.Time
	// Sender is the node that last stored the record here: its publisher, or a node
	// replicating or caching it. It is not the publisher: a replica names its replicator.
	Sender protocol.ID
}

// Expired reports whether r's lifetime has passed at now.
func (r Record) Expired(now time.Time) bool {
	return !r.Expires.IsZero() && !now.Before(r.Expires)
}

// Store keeps records. Implementations are safe for concurrent use, and no method keeps
// a reference to a caller's buffer. A node never closes a Store it was given: its owner
// closes it after the node's Close.
type Store interface {
	// Put stores r, replacing any record under the same key. An error means the record
	// may not be kept.
	Put(r Record) error
	// Get returns the record under key if there is one not expired at now. The zero time
	// returns a record whatever its expiry. found is false, with a nil error, when there
	// is none; an error means the store could not be read. The returned value must not
	// be modified.
	Get(key protocol.ID, now time.Time) (r Record, found bool, err error)
	// Delete removes the record under key; deleting a key not held is not an error.
	Delete(key protocol.ID) error
	// Len returns the number of records held.
	Len() int
	// Bytes returns the total size of the values held.
	Bytes() int64
	// Range calls f for each record, expired ones included, until f returns false. It
	// returns an error when the store could not be read; f may then have seen only some
	// of the records.
	Range(f func(Record) bool) error
}
