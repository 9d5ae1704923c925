package store_test

import (
	"fmt"
	"time"

	"kad/protocol"
	"kad/store"
)

func ExampleMemory() {
	s := store.NewMemory()
	now := time.Now()
	key := protocol.KeyFromString("greeting")
	if err := s.Put(store.Record{Key: key, Value: []byte("hello"), Expires: now.Add(time.Hour), Stored: now}); err != nil {
		fmt.Println(err)
		return
	}
	r, found, err := s.Get(key, now)
	fmt.Printf("%s %v %v\n", r.Value, found, err)
	_, found, _ = s.Get(key, now.Add(2*time.Hour)) // expired by then
	fmt.Println(found, s.Len(), s.Bytes())
	// Output:
	// hello true <nil>
	// false 1 5
}
