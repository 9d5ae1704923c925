//go:build !linux

package integration

import "testing"

// TestNetns runs on Linux only (netns_test.go); elsewhere it says so.
func TestNetns(t *testing.T) {
	t.Skip("needs Linux network namespaces (ip netns)")
}
