package transporttest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"kad/protocol"
	"kad/transports"
)

// BenchmarkRoundTrip measures one call of 100 bytes at a time from caller to an echoing
// transport at to.
func BenchmarkRoundTrip(b *testing.B, caller transports.Transport, to protocol.Contact) {
	req := bytes.Repeat([]byte{'x'}, 100)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := caller.Call(ctx, to, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTripParallel measures calls of 100 bytes from 4 callers per CPU, each
// with a timeout as a node sets, so that a lost datagram cannot hang the run.
func BenchmarkRoundTripParallel(b *testing.B, caller transports.Transport, to protocol.Contact) {
	req := bytes.Repeat([]byte{'x'}, 100)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, _, err := caller.Call(ctx, to, req)
			cancel()
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
