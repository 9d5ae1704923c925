package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"kad/protocol"
	"kad/store"
)

// Put stores value under key at the k nodes closest to key, and returns how many stored
// it. It fails only if none did. The node republishes the record every RepublishInterval
// for as long as it runs (paper §2.5), so that it outlives RecordTTL. A key new to the
// node's published records fails with ErrPublishedFull, before anything is sent, when
// it already publishes Config.MaxPublished records.
func (n *Node) Put(ctx context.Context, key protocol.ID, value []byte) (int, error) {
	if len(value) > protocol.MaxValueSize {
		return 0, fmt.Errorf("put %s: %w: %d bytes, limit %d", key.Short(), ErrValueTooLarge, len(value), protocol.MaxValueSize)
	}
	release, err := n.reservePublished(key)
	if err != nil {
		return 0, err
	}
	defer release()
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	stored, err := n.put(ctx, key, value, n.cfg.RecordTTL, true)
	if err != nil {
		return 0, err
	}
	rec := store.Record{Key: key, Value: value, Stored: time.Now(), Sender: n.self.ID}
	if err := n.published.Put(rec); err != nil {
		return stored, fmt.Errorf("put %s: stored on %d nodes, but not kept for republishing: %w", key.Short(), stored, err)
	}
	return stored, nil
}

// reservePublished makes sure that the record of key will have room among the published
// records, and returns the function that gives back its reservation once it is written
// (or not). Puts of new keys that run at once reserve a place each, so that together they
// never pass MaxPublished.
func (n *Node) reservePublished(key protocol.ID) (func(), error) {
	if n.cfg.MaxPublished < 0 {
		return func() {}, nil
	}
	_, held, err := n.published.Get(key, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("put %s: reading the published records: %w", key.Short(), err)
	}
	if held {
		return func() {}, nil // a replacement takes no more room
	}
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	if used := n.published.Len() + n.pubReserved; used >= n.cfg.MaxPublished {
		return nil, fmt.Errorf("put %s: %w: %d of %d records published", key.Short(), ErrPublishedFull, used, n.cfg.MaxPublished)
	}
	n.pubReserved++
	return func() {
		n.pubMu.Lock()
		n.pubReserved--
		n.pubMu.Unlock()
	}, nil
}

// Unpublish stops the republishing of a key this node put. The copies in the network
// live out their lifetime (RecordTTL from the last put) and expire; this node's own copy
// too. It fails only if Config.Published could not be written.
func (n *Node) Unpublish(key protocol.ID) error {
	if err := n.published.Delete(key); err != nil {
		return fmt.Errorf("unpublish %s: %w", key.Short(), err)
	}
	return nil
}

// put stores value under key, to live ttl, at the k nodes closest to key, this node
// among them if it is one of the k closest and keepLocal is set.
func (n *Node) put(ctx context.Context, key protocol.ID, value []byte, ttl time.Duration, keepLocal bool) (int, error) {
	closest, err := n.Lookup(ctx, key)
	if err != nil && !errors.Is(err, ErrNoContacts) {
		return 0, fmt.Errorf("put %s: %w", key.Short(), err)
	}
	return n.storeAtClosest(ctx, closest, key, value, ttl, keepLocal)
}

// storeAtClosest sends STORE to each of closest, the result of a lookup for key, and
// keeps a copy if keepLocal is set and this node is among the k closest.
func (n *Node) storeAtClosest(ctx context.Context, closest []protocol.Contact, key protocol.ID, value []byte, ttl time.Duration, keepLocal bool) (int, error) {
	stored := 0
	// A client-only node is in no one's table and may be gone in a moment: it is never
	// one of the k that hold a record.
	if keepLocal && !n.reach.client.Load() && (len(closest) < n.cfg.K || n.closerThanLast(key, closest)) {
		// This node is among the k closest: it keeps a copy too.
		if err := n.storeLocal(key, value, ttl, n.self.ID, netip.AddrPort{}); err == nil {
			stored++
			if len(closest) == n.cfg.K {
				closest = closest[:n.cfg.K-1]
			}
		}
	}
	secs := ttlSeconds(ttl)
	results := make(chan error, len(closest))
	for _, c := range closest {
		go func() {
			// A dead node among the k holds the put for its adaptive timeout (rtt.go), not
			// for RPCTimeout.
			_, timeout := n.timeouts(c)
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			_, err := n.call(ctx, c, &protocol.Message{Type: protocol.TypeStore, Key: key, Value: value, TTL: secs})
			results <- err
		}()
	}
	var lastErr error
	for range closest {
		if err := <-results; err == nil {
			stored++
		} else {
			lastErr = err
		}
	}
	if stored == 0 {
		if lastErr == nil {
			lastErr = ErrNoContacts
		}
		if cerr := n.closedErr(); cerr != nil {
			lastErr = cerr
		}
		return 0, fmt.Errorf("put %s: stored nowhere: %w", key.Short(), lastErr)
	}
	return stored, nil
}

// ttlSeconds is a record lifetime as a STORE carries it: whole seconds, at least 1 (0
// would ask for the receiver's default, a fresh tExpire).
func ttlSeconds(ttl time.Duration) uint32 {
	return uint32(min(max(ttl/time.Second, 1), 1<<32-1))
}

// closerThanLast reports whether this node is closer to key than the last of closest.
func (n *Node) closerThanLast(key protocol.ID, closest []protocol.Contact) bool {
	return key.CmpDistance(n.self.ID, closest[len(closest)-1].ID) < 0
}

// storeLocal keeps key → value in this node's store for ttl, as received from sender,
// within MaxStoreBytes. A record already held keeps the longer of its lifetime and ttl.
//
// from is the sender's address, which the sender quotas charge (senderQuotas); an invalid
// one, for the node's own writes, charges no one.
func (n *Node) storeLocal(key protocol.ID, value []byte, ttl time.Duration, sender protocol.ID, from netip.AddrPort) error {
	kl := n.keyLock(key)
	kl.Lock()
	defer kl.Unlock()
	now := time.Now()
	expires := now.Add(ttl)
	grow := int64(len(value))
	// The zero time reads the record even if it has expired: its bytes still count.
	old, ok, err := n.store.Get(key, time.Time{})
	if err != nil {
		return err
	}
	var oldSize int64
	if ok {
		oldSize = int64(len(old.Value))
		grow -= oldSize
		if old.Expires.After(expires) {
			// A shorter-lived copy (a cache, or a replica of an older STORE) never cuts
			// short the life a record already has.
			expires = old.Expires
		}
	}
	if grow > 0 {
		n.storeMu.Lock()
		if used := n.store.Bytes() + n.reserved; used+grow > n.cfg.MaxStoreBytes {
			n.storeMu.Unlock()
			return fmt.Errorf("%w: %d of %d bytes used", ErrStoreFull, used, n.cfg.MaxStoreBytes)
		}
		n.reserved += grow
		n.storeMu.Unlock()
		defer func() {
			n.storeMu.Lock()
			n.reserved -= grow
			n.storeMu.Unlock()
		}()
	}
	undo, err := n.quotas.take(key, int64(len(value)), ok, oldSize, from)
	if err != nil {
		return err
	}
	if err := n.store.Put(store.Record{Key: key, Value: value, Expires: expires, Stored: now, Sender: sender}); err != nil {
		undo()
		return err
	}
	return nil
}

// keyLock returns the lock that orders the writes of key. Every byte counts, so that
// keys alike in part (a counter in their first bytes) still spread over the locks.
func (n *Node) keyLock(key protocol.ID) *sync.Mutex {
	h := uint(0)
	for _, b := range key {
		h = h*31 + uint(b)
	}
	return &n.keyLocks[h%uint(len(n.keyLocks))]
}

// expire removes the records whose lifetime has passed.
func (n *Node) expire(now time.Time) {
	n.limiter.sweep(now)
	n.peerTokens.sweep(now)
	var dead []protocol.ID
	if err := n.store.Range(func(r store.Record) bool {
		if r.Expired(now) {
			dead = append(dead, r.Key)
		}
		return true
	}); err != nil {
		n.log.Warn("expire: store read failed", "err", err)
	}
	for _, key := range dead {
		kl := n.keyLock(key)
		kl.Lock()
		// Re-check: the record may have been stored again since.
		if _, ok, err := n.store.Get(key, now); !ok && err == nil {
			if err := n.store.Delete(key); err != nil {
				n.log.Warn("expire failed", "key", key.Short(), "err", err)
			} else {
				n.quotas.drop(key)
			}
		}
		kl.Unlock()
	}
}

// Get returns the value stored under key: from this node's store if it holds it, else
// from an iterative FIND_VALUE lookup. It returns ErrNotFound when no node answered with it.
func (n *Node) Get(ctx context.Context, key protocol.ID) ([]byte, error) {
	r, ok, err := n.store.Get(key, time.Now())
	if err != nil {
		// Look in the network instead: the k closest hold copies.
		n.log.Warn("store read failed", "key", key.Short(), "err", err)
	}
	if ok {
		return append([]byte(nil), r.Value...), nil
	}
	ctx, cancel := n.opContext(ctx)
	defer cancel()
	res, err := n.lookup(ctx, key, true)
	if err != nil {
		if errors.Is(err, ErrNoContacts) {
			return nil, fmt.Errorf("get %s: %w", key.Short(), ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", key.Short(), err)
	}
	if !res.found {
		return nil, fmt.Errorf("get %s: %w", key.Short(), ErrNotFound)
	}
	return res.value, nil
}
