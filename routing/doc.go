// Package routing is a Kademlia node's routing table (paper §2.2, §4.1): IDBits
// k-buckets indexed by the length of the prefix a contact's ID shares with the node's,
// each ordered least-recently seen first, with a replacement cache, a liveness window that
// spares recently heard contacts a ping, eviction after repeated failures, and limits on
// how many contacts may share a public subnet (AddrRule, Exempt and Subnet say which
// addresses count where; Table.SetSubnetLimitsEverywhere makes loopback and private
// addresses count too), round-trip estimates per contact (RFC 6298), and proximity
// neighbour selection: a contact that answers much faster than a full bucket's slowest
// takes its place, in at most half of each bucket (Table.SeenRTT).
//
//	t := routing.NewTable(self, 20)
//	if res := t.Seen(c); !res.Ping.ID.IsZero() {
//		// ping res.Ping, then:
//		t.PingDone(res.Ping, alive)
//	}
//	closest := t.Closest(target, 20)
//
// A Table does no I/O and never blocks: the liveness checks it asks for are the caller's
// to send.
package routing
