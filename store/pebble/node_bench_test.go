package pebble_test

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"kad/internal/transport"
	"kad/node"
	"kad/protocol"
)

// BenchmarkNodeStores: a node over UDP on the loopback, its records in a Pebble store
// written by default and with Options.Sync (`kad node --data-dir` and `--sync`), takes
// STOREs of 100-byte values from 16 callers a core at once: the STOREs/s an operator
// gets, request to acknowledgement.
func BenchmarkNodeStores(b *testing.B) {
	for _, d := range durabilities[1:] {
		b.Run(d.name, func(b *testing.B) {
			s := openBench(b, d.open)
			server := udpNode(b, node.Config{Store: s, RequestRate: -1, MaxStoreBytes: 1 << 40})
			client := udpNode(b, node.Config{RequestRate: -1})
			to := server.Contact()
			value := make([]byte, 100)
			var n atomic.Uint64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var key protocol.ID
					binary.BigEndian.PutUint64(key[:], n.Add(1))
					if err := client.StoreAt(context.Background(), to, key, value); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stores/s")
			if got := s.Len(); got != b.N {
				b.Errorf("the store holds %d records after %d STOREs", got, b.N)
			}
		})
	}
}

func udpNode(b *testing.B, cfg node.Config) *node.Node {
	b.Helper()
	tr, err := transport.Open(transport.UDP, transport.Options{})
	if err != nil {
		b.Fatal(err)
	}
	n, err := node.New(cfg, tr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	return n
}
