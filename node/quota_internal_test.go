package node

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"kad/protocol"
)

// TestSenderQuotasExact: over random STOREs from a few senders and the node itself,
// replacements, growths and expiries, each sender's charge is exactly the records
// charged to it, every charged record is held at the size it is charged for, no sender
// passes a quota, and a refused STORE changes nothing.
func TestSenderQuotasExact(t *testing.T) {
	const maxRecords, maxBytes = 6, 400
	n, err := New(Config{RequestRate: -1, MaxRecordsPerSender: maxRecords, MaxBytesPerSender: maxBytes},
		nullTransport{addr: netip.MustParseAddrPort("127.0.0.1:4000")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	rng := rand.New(rand.NewPCG(7, 7))
	senders := []netip.AddrPort{
		{}, // the node itself
		netip.MustParseAddrPort("198.51.100.1:4000"),
		netip.MustParseAddrPort("198.51.100.1:4001"), // the same public host
		netip.MustParseAddrPort("198.51.100.2:4000"),
		netip.MustParseAddrPort("10.0.0.1:4000"),
		netip.MustParseAddrPort("10.0.0.1:4001"), // another private socket: another sender
	}
	keys := make([]protocol.ID, 20)
	for i := range keys {
		keys[i] = protocol.KeyFromString(string(rune('a' + i)))
	}
	refused := 0
	for op := range 3000 {
		if rng.IntN(50) == 0 {
			n.expire(time.Now().Add(time.Hour)) // every short-lived record goes
		} else {
			key, from := keys[rng.IntN(len(keys))], senders[rng.IntN(len(senders))]
			ttl := time.Minute
			if rng.IntN(2) == 0 {
				ttl = 2 * time.Hour
			}
			before, held, _ := n.store.Get(key, time.Time{})
			value := bytes.Repeat([]byte{byte(op)}, 1+rng.IntN(150))
			if err := n.storeLocal(key, value, ttl, protocol.ID{1}, from); err != nil {
				refused++
				after, still, _ := n.store.Get(key, time.Time{})
				if still != held || !bytes.Equal(after.Value, before.Value) {
					t.Fatalf("op %d: a refused STORE changed the record", op)
				}
			}
		}
		q := n.quotas
		q.mu.Lock()
		sums := map[sourceKey]usage{}
		for key, c := range q.charge {
			r, ok, _ := n.store.Get(key, time.Time{})
			if !ok || int64(len(r.Value)) != c.bytes {
				t.Fatalf("op %d: a record charged for %d bytes is held: %v, with %d", op, c.bytes, ok, len(r.Value))
			}
			u := sums[c.sender]
			u.records++
			u.bytes += c.bytes
			sums[c.sender] = u
		}
		if len(sums) != len(q.used) {
			t.Fatalf("op %d: %d senders charged, %d counted", op, len(sums), len(q.used))
		}
		for s, u := range q.used {
			if sums[s] != u {
				t.Fatalf("op %d: a sender counted %+v, charged %+v", op, u, sums[s])
			}
			if u.records > maxRecords || u.bytes > maxBytes {
				t.Fatalf("op %d: a sender holds %+v, past the quotas", op, u)
			}
		}
		q.mu.Unlock()
	}
	if refused == 0 {
		t.Fatal("no STORE was refused: the quotas were never tested")
	}
}
