package node

import (
	"time"

	"kad/protocol"
)

// Record is one stored key/value pair.
type Record struct {
	Key     protocol.ID
	Value   []byte
	Expires time.Time
	// Stored is when this node last received the record.
	Stored time.Time
	// Publisher is the node that stored it here: its original publisher, or a node
	// replicating or caching it.
	Publisher protocol.ID
}

// Store keeps records. Implementations are safe for concurrent use.
type Store interface {
	// Put stores r, replacing any record under the same key.
	Put(r Record) error
	// Get returns the record under key, if any and not expired at now.
	Get(key protocol.ID, now time.Time) (Record, bool)
	// Delete removes the record under key.
	Delete(key protocol.ID) error
	// Len returns the number of records held.
	Len() int
	// Bytes returns the total size of the values held.
	Bytes() int64
	// Range calls f for each record until f returns false.
	Range(f func(Record) bool)
}
