// Package store holds a node's records: the Record type, the Store interface a node
// keeps them in, and Memory, the default in-memory Store. Package store/pebble keeps them
// on disk, and store/storetest is the suite every Store passes.
//
//	s := store.NewMemory()
//	err := s.Put(store.Record{Key: key, Value: []byte("hello"), Expires: time.Now().Add(time.Hour)})
//	r, found, err := s.Get(key, time.Now())
//
// A Store only keeps what it is given; the rules on what a node accepts (value size,
// quotas, lifetimes) are the node's.
package store
