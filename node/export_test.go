package node

import (
	"time"

	"kad/protocol"
)

// SetDialBackSpacing sets how long a helper waits between dial-backs for one requester
// or target, for the tests, and returns a function that restores it.
func SetDialBackSpacing(d time.Duration) (restore func()) {
	old := dialBackSpacing.Swap(int64(d))
	return func() { dialBackSpacing.Store(old) }
}

// IsSuspect reports whether lookups of n pass c over (suspects.go), for the tests.
func IsSuspect(n *Node, c protocol.Contact) bool { return n.suspect(c) }
