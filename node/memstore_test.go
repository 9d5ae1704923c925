package node_test

import (
	"testing"

	"kad/node"
	"kad/node/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) node.Store { return node.NewMemoryStore() })
}
