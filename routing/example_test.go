package routing_test

import (
	"fmt"
	"net/netip"

	"kad/protocol"
	"kad/routing"
)

func ExampleTable() {
	self := protocol.KeyFromString("self")
	t := routing.NewTable(self, 20)
	for i := range 5 {
		c := protocol.Contact{
			ID: protocol.KeyFromString(fmt.Sprint("peer ", i)),
			// Each in its own /24: a table admits only 2 contacts of one public /24 a bucket.
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, byte(i), 1}), 4000),
		}
		if res := t.Seen(c); !res.Ping.ID.IsZero() {
			// A full bucket asks for its oldest contact to be checked.
			t.PingDone(res.Ping, true)
		}
	}
	target := protocol.KeyFromString("peer 3")
	fmt.Println(t.Len(), "contacts; closest to the target is the target:", t.Closest(target, 1)[0].ID == target)
	// Output: 5 contacts; closest to the target is the target: true
}
