package protocol

import (
	"testing"
)

func BenchmarkXor(b *testing.B) {
	r := testRand(10)
	x, y := RandomID(r), RandomID(r)
	b.ReportAllocs()
	for b.Loop() {
		x = x.Xor(y)
	}
}

func BenchmarkCommonPrefixLen(b *testing.B) {
	r := testRand(11)
	x := RandomID(r)
	y := x.RandomInBucket(100, r) // a long shared prefix is the slow case
	b.ReportAllocs()
	for b.Loop() {
		x.CommonPrefixLen(y)
	}
}

func BenchmarkCmpDistance(b *testing.B) {
	r := testRand(12)
	target := RandomID(r)
	x, y := target.RandomInBucket(100, r), target.RandomInBucket(100, r)
	b.ReportAllocs()
	for b.Loop() {
		target.CmpDistance(x, y)
	}
}

// BenchmarkSortByDistance sorts 60 contacts (three buckets' worth, the size of a lookup
// shortlist) from the same shuffled order each time; the copy is part of the figure.
func BenchmarkSortByDistance(b *testing.B) {
	r := testRand(13)
	target := RandomID(r)
	in := make([]Contact, 60)
	for i := range in {
		in[i] = Contact{ID: RandomID(r), Addr: addrC}
	}
	cs := make([]Contact, len(in))
	b.ReportAllocs()
	for b.Loop() {
		copy(cs, in)
		SortByDistance(target, cs)
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, g := range golden() {
		b.Run(g.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.m.Encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, g := range golden() {
		wire, err := g.m.Encode()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(g.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			var m Message
			for b.Loop() {
				if err := DecodeInto(&m, wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNodesRoundTrip encodes and decodes a NODES reply of k = 20 contacts, half IPv4
// and half IPv6: the message every lookup step receives.
func BenchmarkNodesRoundTrip(b *testing.B) {
	m := &Message{Type: TypeNodes, RPCID: testRPCID, Sender: nodeB, SenderAddr: addrB, Contacts: contacts(K)}
	wire, err := m.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		wire, err := m.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}
