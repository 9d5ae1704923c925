package node_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/store"
)

// slowStore is a store whose writes take a while, as a store that syncs to a disk does,
// and which remembers the most bytes it ever held.
type slowStore struct {
	*store.Memory
	most atomic.Int64
}

func (s *slowStore) Put(r store.Record) error {
	time.Sleep(10 * time.Millisecond)
	if err := s.Memory.Put(r); err != nil {
		return err
	}
	for b := s.Memory.Bytes(); ; {
		m := s.most.Load()
		if b <= m || s.most.CompareAndSwap(m, b) {
			break
		}
	}
	return nil
}

// TestStoreQuotaConcurrent: STOREs that arrive together, each waiting for a slow store,
// never take the node past MaxStoreBytes between them: the quota counts the writes it
// allowed before the store does. It runs in real time: a synctest bubble would not
// advance its clock while STOREs of keys that share a lock wait on it.
func TestStoreQuotaConcurrent(t *testing.T) {
	slow := &slowStore{Memory: store.NewMemory()}
	c := cluster.New(t, 2, cluster.Options{Configure: func(i int, cfg *node.Config) {
		if i == 1 {
			cfg.Store, cfg.MaxStoreBytes = slow, 100_000
		}
	}})
	to := c.Nodes[1].Contact()
	var wg sync.WaitGroup
	var stored atomic.Int64
	for i := range 40 {
		wg.Go(func() {
			key := protocol.KeyFromString(fmt.Sprint("key ", i))
			if err := c.Nodes[0].StoreAt(t.Context(), to, key, make([]byte, 10_000)); err == nil {
				stored.Add(1)
			}
		})
	}
	wg.Wait()
	if got := slow.most.Load(); got > 100_000 {
		t.Errorf("the store held %d bytes at most, over the quota of 100,000", got)
	}
	if stored.Load() != 10 || slow.Len() != 10 {
		t.Errorf("%d STOREs acknowledged, %d records held; want 10 of 10,000 bytes each", stored.Load(), slow.Len())
	}
}

// TestClientOnlyPut: a client-only node's put stores at the k closest others and never on
// the client itself, and no node's routing table holds the client afterwards.
func TestClientOnlyPut(t *testing.T) {
	c := cluster.New(t, 6, cluster.Options{Join: cluster.JoinFirst, Configure: func(i int, cfg *node.Config) {
		cfg.ClientOnly = i == 5
	}})
	client := c.Nodes[5]
	key := protocol.KeyFromString("from a client")
	stored, err := client.Put(t.Context(), key, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if stored != 5 || client.Store().Len() != 0 {
		t.Errorf("stored on %d nodes, the client holding %d records; want the 5 others and none", stored, client.Store().Len())
	}
	for _, n := range c.Nodes[:5] {
		for _, ct := range n.Contacts() {
			if ct.ID == client.ID() {
				t.Errorf("node %s has the client-only node in its routing table", n.ID().Short())
			}
		}
	}
}
