package node

import (
	"fmt"
	"net/netip"
	"sync"

	"kad/protocol"
)

// senderQuotas count the records and bytes each sender (senderRule) holds in the node's
// store, so that no one sender can fill it (Config.MaxRecordsPerSender,
// Config.MaxBytesPerSender).
//
// A record is charged to the sender whose STORE made it take room: the one that created
// it, or the last that grew its value. A STORE that replaces a record without growing it
// (a replica, a republish, a refresh of its life) leaves the charge where it is, and a
// sender quota never refuses it: honest replication and republishing arrive from many
// senders, and none of them adds to what the node holds. Records the node stores for
// itself, and those a persistent store held when the node started (the store knows a
// record's sender by ID, not by address), are charged to no one until a sender grows
// them. Sums over the senders are exact across overwrite, expiry and restarts: charges
// change only under the record's key lock, in step with the node's writes.
type senderQuotas struct {
	maxRecords int   // negative: no limit
	maxBytes   int64 // negative: no limit
	rule       senderRule

	mu     sync.Mutex
	charge map[protocol.ID]charge // key → who pays for its record
	used   map[sourceKey]usage
}

// charge is the sender a record is charged to, and the size it is charged for.
type charge struct {
	sender sourceKey
	bytes  int64
}

// usage is what one sender is charged for.
type usage struct {
	records int
	bytes   int64
}

func newSenderQuotas(maxRecords int, maxBytes int64, rule senderRule) *senderQuotas {
	return &senderQuotas{maxRecords: maxRecords, maxBytes: maxBytes, rule: rule,
		charge: make(map[protocol.ID]charge), used: make(map[sourceKey]usage)}
}

// take charges the record of key, size bytes and held before at oldSize bytes (held:
// whether it was), to the sender at from, or to no one for an invalid from. It returns
// an error wrapping ErrSenderQuota, and changes nothing, if that would take the sender
// past a quota; else a function that undoes the charge if the write fails. The key's
// lock is held.
func (q *senderQuotas) take(key protocol.ID, size int64, held bool, oldSize int64, from netip.AddrPort) (undo func(), err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	prev, charged := q.charge[key]
	next := charge{bytes: size}
	switch {
	case held && size <= oldSize:
		// Replaced without growing: the charge stays, at the new size.
		if !charged {
			return func() {}, nil
		}
		next.sender = prev.sender
	case !from.IsValid():
		// The node's own write: no one pays.
		q.release(key, prev, charged)
		return q.undo(key, prev, charged, next, false), nil
	default:
		next.sender = q.rule.sender(from)
		u := q.used[next.sender]
		if charged && prev.sender == next.sender {
			u.records--
			u.bytes -= prev.bytes
		}
		if q.maxRecords >= 0 && u.records+1 > q.maxRecords {
			return nil, fmt.Errorf("%w: sender %s holds %d of %d records", ErrSenderQuota, from, u.records, q.maxRecords)
		}
		if q.maxBytes >= 0 && u.bytes+size > q.maxBytes {
			return nil, fmt.Errorf("%w: sender %s holds %d of %d bytes, %d more asked", ErrSenderQuota, from, u.bytes, q.maxBytes, size)
		}
	}
	q.release(key, prev, charged)
	q.add(key, next)
	return q.undo(key, prev, charged, next, true), nil
}

// undo returns a function that puts back the charge of key as it was before take set it
// to next (added: whether it did). It takes q.mu.
func (q *senderQuotas) undo(key protocol.ID, prev charge, charged bool, next charge, added bool) func() {
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if added {
			q.release(key, next, true)
		}
		if charged {
			q.add(key, prev)
		}
	}
}

// drop removes the charge of key, whose record is gone. The key's lock is held.
func (q *senderQuotas) drop(key protocol.ID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c, ok := q.charge[key]
	q.release(key, c, ok)
}

// add charges key's record to c.sender. q.mu is held.
func (q *senderQuotas) add(key protocol.ID, c charge) {
	q.charge[key] = c
	u := q.used[c.sender]
	u.records++
	u.bytes += c.bytes
	q.used[c.sender] = u
}

// release takes c, key's charge if charged, off its sender. q.mu is held.
func (q *senderQuotas) release(key protocol.ID, c charge, charged bool) {
	if !charged {
		return
	}
	delete(q.charge, key)
	u := q.used[c.sender]
	u.records--
	u.bytes -= c.bytes
	if u.records <= 0 {
		delete(q.used, c.sender)
		return
	}
	q.used[c.sender] = u
}
