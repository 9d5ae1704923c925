package routing

import (
	"slices"
	"testing"

	"kad/protocol"
)

// TestBuckets: Buckets lists the non-empty buckets by index with their contacts in
// bucket order and the size of their replacement caches, as copies.
func TestBuckets(t *testing.T) {
	const k = 2
	self := protocol.ID{0x55}
	rt := NewTable(self, k)
	if got := rt.Buckets(); len(got) != 0 {
		t.Fatalf("empty table: got %d buckets", len(got))
	}
	a, b := protocol.Contact{ID: idAt(self, 7, 1), Addr: addrN(1)}, protocol.Contact{ID: idAt(self, 7, 2), Addr: addrN(2)}
	spare := protocol.Contact{ID: idAt(self, 7, 3), Addr: addrN(3)}
	near := protocol.Contact{ID: idAt(self, 30, 4), Addr: addrN(4)}
	for _, c := range []protocol.Contact{near, a, b, spare} {
		rt.Seen(c)
	}
	got := rt.Buckets()
	if len(got) != 2 || got[0].Index != 7 || got[1].Index != 30 {
		t.Fatalf("got buckets %+v, want 7 and 30", got)
	}
	if !slices.Equal(got[0].Contacts, []protocol.Contact{a, b}) || got[0].Replacements != 1 {
		t.Errorf("bucket 7: %v with %d replacements, want [a b] with 1", got[0].Contacts, got[0].Replacements)
	}
	if !slices.Equal(got[1].Contacts, []protocol.Contact{near}) || got[1].Replacements != 0 {
		t.Errorf("bucket 30: %v with %d replacements, want [near]", got[1].Contacts, got[1].Replacements)
	}
	got[0].Contacts[0] = near
	if again := rt.Buckets(); again[0].Contacts[0] != a {
		t.Errorf("Buckets shares its contacts with the table")
	}
}
