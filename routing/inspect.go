package routing

import "kad/protocol"

// Bucket is a copy of one k-bucket, for those who inspect the table: an operator's
// status page, a test.
type Bucket struct {
	// Index is the bucket's place in the table: the length of the prefix its contacts
	// share with the node's ID.
	Index int
	// Contacts are the bucket's contacts, least-recently seen first.
	Contacts []protocol.Contact
	// Replacements is how many contacts wait in the bucket's replacement cache.
	Replacements int
}

// Buckets returns a copy of every bucket that holds a contact or a replacement, by
// increasing index.
func (t *Table) Buckets() []Bucket {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Bucket
	for i := range t.buckets {
		b := &t.buckets[i]
		if len(b.entries) == 0 && len(b.replacements) == 0 {
			continue
		}
		cs := make([]protocol.Contact, len(b.entries))
		for j, e := range b.entries {
			cs[j] = e.Contact
		}
		out = append(out, Bucket{Index: i, Contacts: cs, Replacements: len(b.replacements)})
	}
	return out
}
