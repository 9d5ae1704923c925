package node

import "kad/routing"

// Buckets returns a copy of the routing table's non-empty k-buckets, by increasing
// index (the length of the prefix their contacts share with the node's ID), for an
// operator's view of the table.
func (n *Node) Buckets() []routing.Bucket { return n.table.Buckets() }
