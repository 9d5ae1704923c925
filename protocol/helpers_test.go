package protocol

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Fixed identities used by the codec tests, the golden vectors and the worked example of
// PROTOCOL.md.
var (
	testRPCID = RPCID{0x8e, 0x3b, 0x1f, 0x62, 0xd0, 0x47, 0xa9, 0x15}
	nodeA     = KeyFromString("kad example node A")
	nodeB     = KeyFromString("kad example node B")
	nodeC     = KeyFromString("kad example node C")
	nodeD     = KeyFromString("kad example node D")
	addrA     = netip.MustParseAddrPort("192.0.2.10:4000")
	addrB     = netip.MustParseAddrPort("[2001:db8::b]:4001")
	addrC     = netip.MustParseAddrPort("198.51.100.7:4000")
	addrD     = netip.MustParseAddrPort("[2001:db8::d]:4000")
	helloKey  = KeyFromString("hello")
)

// normalize returns a copy of m in the form Decode produces: empty slices as nil and
// IPv4-mapped addresses unmapped, so that reflect.DeepEqual compares meaning.
func normalize(m *Message) *Message {
	if m == nil {
		return nil
	}
	c := *m
	if len(c.Value) == 0 {
		c.Value = nil
	}
	if len(c.Contacts) == 0 {
		c.Contacts = nil
	} else {
		c.Contacts = append([]Contact(nil), c.Contacts...)
		for i := range c.Contacts {
			c.Contacts[i].Addr = unmapAddr(c.Contacts[i].Addr)
		}
	}
	c.SenderAddr = unmapAddr(c.SenderAddr)
	return &c
}

func unmapAddr(ap netip.AddrPort) netip.AddrPort {
	if !ap.IsValid() {
		return ap
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// contacts returns n contacts with distinct IDs, alternating IPv4 and IPv6 addresses.
func contacts(n int) []Contact {
	cs := make([]Contact, n)
	for i := range cs {
		id := KeyFromString(fmt.Sprintf("contact %d", i))
		if i%2 == 0 {
			cs[i] = Contact{ID: id, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), uint16(4000+i))}
		} else {
			ip := netip.MustParseAddr("2001:db8::").As16()
			ip[15] = byte(i)
			cs[i] = Contact{ID: id, Addr: netip.AddrPortFrom(netip.AddrFrom16(ip), uint16(4000+i))}
		}
	}
	return cs
}

// fields is a message as the CBOR map it travels as, for building inputs by hand.
type fields map[int]any

func (f fields) with(k int, v any) fields {
	c := make(fields, len(f)+1)
	for key, val := range f {
		c[key] = val
	}
	c[k] = v
	return c
}

func (f fields) without(k int) fields {
	c := f.with(k, nil)
	delete(c, k)
	return c
}

var testEncMode = func() cbor.EncMode {
	em, err := cbor.EncOptions{Sort: cbor.SortCoreDeterministic}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// enc encodes v with fxamacker/cbor in deterministic order.
func enc(v any) []byte {
	b, err := testEncMode.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// raw is CBOR written by hand, placed in a fields value as is.
func raw(s string) cbor.RawMessage { return cbor.RawMessage(unhex(s)) }

// packV4 and packV6 build packed contacts by hand.
func packV4(id ID, ip [4]byte, port uint16) []byte {
	return append(append(append([]byte(nil), id[:]...), ip[:]...), byte(port>>8), byte(port))
}

func packV6(id ID, ip [16]byte, port uint16) []byte {
	return append(append(append([]byte(nil), id[:]...), ip[:]...), byte(port>>8), byte(port))
}

// baseFields returns the fields of a valid message of type t.
func baseFields(t Type) fields {
	f := fields{1: int(t), 2: testRPCID[:], 3: nodeA[:]}
	switch t {
	case TypeStore:
		f[6], f[7], f[8] = helloKey[:], []byte("world"), 3600
	case TypeFindNode, TypeFindValue:
		f[6] = nodeD[:]
	case TypeValue:
		f[6], f[7] = helloKey[:], []byte("world")
	case TypeNodes:
		f[9] = []any{packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000)}
	case TypeError:
		f[10], f[11] = 1, "bad request"
	}
	return f
}

// addPair appends one key/value pair to an encoded map of fewer than 23 pairs, for
// duplicate keys, which no encoder writes.
func addPair(b []byte, pair string) []byte {
	if b[0] < 0xa0 || b[0] >= 0xb7 {
		panic("addPair: not a small map")
	}
	out := append([]byte{b[0] + 1}, b[1:]...)
	return append(out, unhex(pair)...)
}

// pair encodes one key/value pair of a map, for mapOf.
func pair(k, v any) []byte { return append(enc(k), enc(v)...) }

// mapOf encodes a map of the given pairs in the order given, which need not be the
// encoder's: keys out of order, duplicates and unknown keys included.
func mapOf(pairs ...[]byte) []byte {
	b := appendHead(nil, majorMap, uint64(len(pairs)))
	for _, p := range pairs {
		b = append(b, p...)
	}
	return b
}
