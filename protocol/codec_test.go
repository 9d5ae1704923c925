package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"

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

func TestRoundTrip(t *testing.T) {
	env := func(typ Type) Message {
		return Message{Type: typ, RPCID: testRPCID, Sender: nodeA, SenderAddr: addrA}
	}
	with := func(m Message, f func(*Message)) *Message {
		f(&m)
		return &m
	}
	maxText := strings.Repeat("é", MaxErrorText/2) // 256 bytes, 128 characters
	tests := []struct {
		name string
		m    *Message
	}{
		{name: "PING IPv4 sender", m: with(env(TypePing), func(*Message) {})},
		{name: "PING IPv6 sender", m: with(env(TypePing), func(m *Message) { m.SenderAddr = addrB })},
		{name: "PING client without address", m: with(env(TypePing), func(m *Message) {
			m.SenderAddr = netip.AddrPort{}
			m.Flags = FlagClient
		})},
		{name: "PING client with address", m: with(env(TypePing), func(m *Message) { m.Flags = FlagClient })},
		{name: "PONG", m: with(env(TypePong), func(m *Message) { m.Sender, m.SenderAddr = nodeB, addrB })},
		{name: "STORE with TTL", m: with(env(TypeStore), func(m *Message) {
			m.Key, m.Value, m.TTL = helloKey, []byte("world"), 3600
		})},
		{name: "STORE largest TTL", m: with(env(TypeStore), func(m *Message) {
			m.Key, m.Value, m.TTL = helloKey, []byte{0}, 1<<32-1
		})},
		{name: "STORE empty value", m: with(env(TypeStore), func(m *Message) { m.Key = helloKey })},
		{name: "STORE max-size value", m: with(env(TypeStore), func(m *Message) {
			m.Key, m.Value, m.TTL = helloKey, bytes.Repeat([]byte{0xa5}, MaxValueSize), 86400
		})},
		{name: "STORE binary value", m: with(env(TypeStore), func(m *Message) {
			m.Key, m.Value = helloKey, []byte{0, 0xff, 0xf6, 0xf7, 0x1f, 0x5f}
		})},
		{name: "STORED", m: with(env(TypeStored), func(*Message) {})},
		{name: "FIND_NODE", m: with(env(TypeFindNode), func(m *Message) { m.Key = nodeD })},
		{name: "FIND_NODE zero key", m: with(env(TypeFindNode), func(*Message) {})},
		{name: "NODES 20 contacts", m: with(env(TypeNodes), func(m *Message) { m.Contacts = contacts(K) })},
		{name: "NODES MaxContacts contacts", m: with(env(TypeNodes), func(m *Message) { m.Contacts = contacts(MaxContacts) })},
		{name: "NODES one IPv6 contact", m: with(env(TypeNodes), func(m *Message) { m.Contacts = []Contact{{ID: nodeD, Addr: addrD}} })},
		{name: "NODES no contacts", m: with(env(TypeNodes), func(*Message) {})},
		{name: "NODES client", m: with(env(TypeNodes), func(m *Message) {
			m.Flags, m.SenderAddr, m.Contacts = FlagClient, netip.AddrPort{}, contacts(3)
		})},
		{name: "FIND_VALUE", m: with(env(TypeFindValue), func(m *Message) { m.Key = helloKey })},
		{name: "VALUE", m: with(env(TypeValue), func(m *Message) { m.Key, m.Value = helloKey, []byte("world") })},
		{name: "VALUE empty", m: with(env(TypeValue), func(m *Message) { m.Key = helloKey })},
		{name: "VALUE max-size", m: with(env(TypeValue), func(m *Message) {
			m.Key, m.Value = helloKey, bytes.Repeat([]byte{1}, MaxValueSize)
		})},
		{name: "ERROR", m: with(env(TypeError), func(m *Message) { m.ErrCode, m.ErrText = CodeBadRequest, "bad request" })},
		{name: "ERROR without text", m: with(env(TypeError), func(m *Message) { m.ErrCode = CodeRefused })},
		{name: "ERROR largest code", m: with(env(TypeError), func(m *Message) { m.ErrCode = 65535 })},
		{name: "ERROR max-size text", m: with(env(TypeError), func(m *Message) { m.ErrCode, m.ErrText = CodeInternal, maxText })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(b) > MaxMessageSize {
				t.Fatalf("Encode gave %d bytes, over MaxMessageSize", len(b))
			}
			again, err := tt.m.Encode()
			if err != nil || !bytes.Equal(b, again) {
				t.Fatalf("Encode is not deterministic")
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode(m)): %v\n%x", err, b)
			}
			if want := normalize(tt.m); !reflect.DeepEqual(normalize(got), want) {
				t.Fatalf("Decode(Encode(m)) =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestDecodeIsIndependentOfInput(t *testing.T) {
	m := &Message{Type: TypeStore, RPCID: testRPCID, Sender: nodeA, Key: helloKey, Value: []byte("world"), TTL: 60}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xee
	}
	if string(got.Value) != "world" || got.Key != helloKey {
		t.Fatalf("decoded message changed with its input: %+v", got)
	}
}

func TestDecodeIntoResets(t *testing.T) {
	m := &Message{Type: TypeNodes, RPCID: testRPCID, Sender: nodeA, SenderAddr: addrA, Contacts: contacts(3)}
	b, err := (&Message{Type: TypePing, RPCID: RPCID{1}, Sender: nodeB}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := DecodeInto(m, b); err != nil {
		t.Fatal(err)
	}
	want := &Message{Type: TypePing, RPCID: RPCID{1}, Sender: nodeB}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("DecodeInto left %+v, want %+v", m, want)
	}
}

func TestDecodeIntoKeepsRPCIDOnFailure(t *testing.T) {
	badContacts := []any{packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000), packV4(nodeD, [4]byte{198, 51, 100, 8}, 0)}
	tests := []struct {
		name string
		b    []byte
		want RPCID
	}{
		{"missing key", enc(baseFields(TypeFindNode).without(6)), testRPCID},
		{"unknown type", enc(baseFields(TypePing).with(1, 77)), testRPCID},
		{"missing type", enc(baseFields(TypePing).without(1)), testRPCID},
		{"bad second contact", enc(baseFields(TypeNodes).with(9, badContacts)), testRPCID},
		{"value too large", enc(baseFields(TypeStore).with(7, make([]byte, MaxValueSize+1))), testRPCID},
		{"rpc id of 3 bytes", enc(baseFields(TypePing).with(2, []byte{1, 2, 3})), RPCID{}},
		{"unknown map key", enc(baseFields(TypePing).with(12, 0)), testRPCID},
		{"not CBOR", []byte{0xff}, RPCID{}},
		{"too large", make([]byte, MaxMessageSize+1), RPCID{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Message{Type: TypeNodes, RPCID: RPCID{9}, Sender: nodeB, Contacts: contacts(2), Value: []byte{1}}
			if err := DecodeInto(&m, tt.b); err == nil {
				t.Fatal("DecodeInto succeeded")
			}
			if m.RPCID != tt.want {
				t.Errorf("RPCID = %x, want %x", m.RPCID, tt.want)
			}
			if m.Contacts != nil || m.Value != nil {
				t.Errorf("DecodeInto left fields of the earlier message: %+v", m)
			}
		})
	}
}

func TestEncodeNormalizes(t *testing.T) {
	mapped := netip.MustParseAddrPort("[::ffff:192.0.2.99]:4000")
	tests := []struct {
		name string
		m    *Message
		want *Message
	}{
		{
			name: "IPv4-mapped addresses go as IPv4",
			m:    &Message{Type: TypeNodes, Sender: nodeA, SenderAddr: mapped, Contacts: []Contact{{ID: nodeB, Addr: mapped}}},
			want: &Message{Type: TypeNodes, Sender: nodeA, SenderAddr: netip.MustParseAddrPort("192.0.2.99:4000"),
				Contacts: []Contact{{ID: nodeB, Addr: netip.MustParseAddrPort("192.0.2.99:4000")}}},
		},
		{
			name: "ERROR code 0 goes as CodeInternal",
			m:    &Message{Type: TypeError, Sender: nodeA, ErrText: "oops"},
			want: &Message{Type: TypeError, Sender: nodeA, ErrCode: CodeInternal, ErrText: "oops"},
		},
		{
			name: "a key on a type without one is not sent",
			m:    &Message{Type: TypePing, Sender: nodeA, Key: helloKey},
			want: &Message{Type: TypePing, Sender: nodeA},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	env := func(typ Type) *Message { return &Message{Type: typ, RPCID: testRPCID, Sender: nodeA} }
	with := func(m *Message, f func(*Message)) *Message { f(m); return m }
	tests := []struct {
		name string
		m    *Message
		want error
	}{
		{name: "type 0", m: env(0), want: ErrMalformed},
		{name: "type 10", m: env(10), want: ErrMalformed},
		{name: "type 255", m: env(255), want: ErrMalformed},
		{name: "value over MaxValueSize", m: with(env(TypeStore), func(m *Message) { m.Value = make([]byte, MaxValueSize+1) }), want: ErrTooLarge},
		{name: "contacts over MaxContacts", m: with(env(TypeNodes), func(m *Message) { m.Contacts = contacts(MaxContacts + 1) }), want: ErrTooLarge},
		{name: "error text over limit", m: with(env(TypeError), func(m *Message) { m.ErrText = strings.Repeat("x", MaxErrorText+1) }), want: ErrTooLarge},
		{name: "error text not UTF-8", m: with(env(TypeError), func(m *Message) { m.ErrText = "\xff" }), want: ErrMalformed},
		{name: "value on PING", m: with(env(TypePing), func(m *Message) { m.Value = []byte{1} }), want: ErrMalformed},
		{name: "value on FIND_VALUE", m: with(env(TypeFindValue), func(m *Message) { m.Value = []byte{1} }), want: ErrMalformed},
		{name: "contacts on STORE", m: with(env(TypeStore), func(m *Message) { m.Contacts = contacts(1) }), want: ErrMalformed},
		{name: "TTL on VALUE", m: with(env(TypeValue), func(m *Message) { m.TTL = 5 }), want: ErrMalformed},
		{name: "error code on PONG", m: with(env(TypePong), func(m *Message) { m.ErrCode = 1 }), want: ErrMalformed},
		{name: "error text on NODES", m: with(env(TypeNodes), func(m *Message) { m.ErrText = "x" }), want: ErrMalformed},
		{name: "unknown flag", m: with(env(TypePing), func(m *Message) { m.Flags = 2 }), want: ErrMalformed},
		{name: "contact without address", m: with(env(TypeNodes), func(m *Message) { m.Contacts = []Contact{{ID: nodeB}} }), want: ErrBadAddr},
		{name: "contact port 0", m: with(env(TypeNodes), func(m *Message) {
			m.Contacts = []Contact{{ID: nodeB, Addr: netip.MustParseAddrPort("192.0.2.1:0")}}
		}), want: ErrBadAddr},
		{name: "contact unspecified", m: with(env(TypeNodes), func(m *Message) {
			m.Contacts = []Contact{{ID: nodeB, Addr: netip.MustParseAddrPort("[::]:4000")}}
		}), want: ErrBadAddr},
		{name: "sender address port 0", m: with(env(TypePing), func(m *Message) { m.SenderAddr = netip.MustParseAddrPort("192.0.2.1:0") }), want: ErrBadAddr},
		{name: "sender address unspecified", m: with(env(TypePing), func(m *Message) { m.SenderAddr = netip.MustParseAddrPort("0.0.0.0:4000") }), want: ErrBadAddr},
		{name: "sender address mapped unspecified", m: with(env(TypePing), func(m *Message) {
			m.SenderAddr = netip.MustParseAddrPort("[::ffff:0.0.0.0]:4000")
		}), want: ErrBadAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.Encode()
			if !errors.Is(err, tt.want) {
				t.Fatalf("Encode = %x, %v; want an error wrapping %v", b, err, tt.want)
			}
		})
	}
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

type badInput struct {
	name string
	b    []byte
	want error // ErrMalformed or ErrTooLarge
}

// badInputs lists byte strings that Decode must refuse, each with the error it must wrap.
func badInputs() []badInput {
	ping := enc(baseFields(TypePing))
	mapped := netip.MustParseAddr("::ffff:198.51.100.7").As16()
	v6 := netip.MustParseAddr("2001:db8::c").As16()
	many := make([]any, MaxContacts+1)
	for i := range many {
		many[i] = packV4(KeyFromString(fmt.Sprint(i)), [4]byte{203, 0, 113, byte(i + 1)}, 4000)
	}
	deep := []any{[]any{[]any{[]any{[]any{packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000)}}}}}
	seventeen := baseFields(TypePing)
	for k := 12; len(seventeen) < 17; k++ {
		seventeen[k] = 0
	}
	M, L := ErrMalformed, ErrTooLarge
	return []badInput{
		// Not a message at all.
		{"empty input", nil, M},
		{"single zero byte", []byte{0}, M},
		{"top-level array", enc([]any{1, testRPCID[:], nodeA[:]}), M},
		{"top-level null", unhex("f6"), M},
		{"top-level byte string", enc(ping), M},
		{"truncated", ping[:len(ping)-1], M},
		{"truncated head", ping[:1], M},

		// Type.
		{"unknown type 0", enc(baseFields(TypePing).with(1, 0)), M},
		{"unknown type 10", enc(baseFields(TypePing).with(1, 10)), M},
		{"unknown type 255", enc(baseFields(TypePing).with(1, 255)), M},
		{"unknown type 256", enc(baseFields(TypePing).with(1, 256)), M},
		{"unknown type 257 (1 mod 256)", enc(baseFields(TypePing).with(1, 257)), M},
		{"unknown type 2^64-1", enc(baseFields(TypePing).with(1, uint64(1<<64-1))), M},
		{"missing type", enc(baseFields(TypePing).without(1)), M},
		{"negative type", enc(baseFields(TypePing).with(1, -1)), M},
		{"type as text", enc(baseFields(TypePing).with(1, "1")), M},
		{"type as float", enc(baseFields(TypePing).with(1, raw("f93c00"))), M},
		{"type as true", enc(baseFields(TypePing).with(1, true)), M},
		{"type as simple value 1", enc(baseFields(TypePing).with(1, raw("e1"))), M},
		{"type null", enc(baseFields(TypePing).with(1, nil)), M},

		// Envelope fields.
		{"missing rpc id", enc(baseFields(TypePing).without(2)), M},
		{"rpc id of 3 bytes", enc(baseFields(TypePing).with(2, []byte{1, 2, 3})), M},
		{"rpc id of 21 bytes", enc(baseFields(TypePing).with(2, make([]byte, 21))), M},
		{"rpc id of 7 bytes", enc(baseFields(TypePing).with(2, make([]byte, 7))), M},
		{"rpc id of 9 bytes", enc(baseFields(TypePing).with(2, make([]byte, 9))), M},
		{"rpc id as text", enc(baseFields(TypePing).with(2, "01234567")), M},
		{"rpc id as array of integers", enc(baseFields(TypePing).with(2, []any{1, 2, 3, 4, 5, 6, 7, 8})), M},
		{"rpc id null", enc(baseFields(TypePing).with(2, nil)), M},
		{"missing sender", enc(baseFields(TypePing).without(3)), M},
		{"sender of 3 bytes", enc(baseFields(TypePing).with(3, []byte{1, 2, 3})), M},
		{"sender of 21 bytes", enc(baseFields(TypePing).with(3, make([]byte, 21))), M},
		{"sender of 19 bytes", enc(baseFields(TypePing).with(3, make([]byte, 19))), M},
		{"sender as text", enc(baseFields(TypePing).with(3, strings.Repeat("a", 20))), M},
		{"sender address of 0 bytes", enc(baseFields(TypePing).with(4, []byte{})), M},
		{"sender address of 5 bytes", enc(baseFields(TypePing).with(4, []byte{192, 0, 2, 1, 0x0f})), M},
		{"sender address of 7 bytes", enc(baseFields(TypePing).with(4, []byte{192, 0, 2, 1, 0x0f, 0xa0, 0})), M},
		{"sender address port 0", enc(baseFields(TypePing).with(4, []byte{192, 0, 2, 1, 0, 0})), M},
		{"sender address unspecified", enc(baseFields(TypePing).with(4, []byte{0, 0, 0, 0, 0x0f, 0xa0})), M},
		{"sender address IPv4-mapped", enc(baseFields(TypePing).with(4, append(mapped[:], 0x0f, 0xa0))), M},
		{"sender address multicast", enc(baseFields(TypePing).with(4, []byte{224, 0, 0, 1, 0x0f, 0xa0})), M},
		{"unknown flag bit 1", enc(baseFields(TypePing).with(5, 2)), M},
		{"unknown flag bit 7", enc(baseFields(TypePing).with(5, 0x80)), M},
		{"flags over a byte", enc(baseFields(TypePing).with(5, 0x101)), M},
		{"flags as simple value", enc(baseFields(TypePing).with(5, raw("f0"))), M},
		{"flags null", enc(baseFields(TypePing).with(5, nil)), M},
		{"flags false", enc(baseFields(TypePing).with(5, false)), M},

		// Fields not allowed for the type.
		{"value on PING", enc(baseFields(TypePing).with(7, []byte("x"))), M},
		{"empty value on PING", enc(baseFields(TypePing).with(7, []byte{})), M},
		{"null value on PING", enc(baseFields(TypePing).with(7, nil)), M},
		{"undefined value on PING", enc(baseFields(TypePing).with(7, raw("f7"))), M},
		{"key on PING", enc(baseFields(TypePing).with(6, nodeD[:])), M},
		{"TTL on PING", enc(baseFields(TypePing).with(8, 60)), M},
		{"TTL 0 on PING", enc(baseFields(TypePing).with(8, 0)), M},
		{"contacts on STORE", enc(baseFields(TypeStore).with(9, []any{packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000)})), M},
		{"empty contacts on PONG", enc(baseFields(TypePong).with(9, []any{})), M},
		{"value on FIND_VALUE", enc(baseFields(TypeFindValue).with(7, []byte("x"))), M},
		{"TTL on VALUE", enc(baseFields(TypeValue).with(8, 60)), M},
		{"key on NODES", enc(baseFields(TypeNodes).with(6, nodeD[:])), M},
		{"error code on STORED", enc(baseFields(TypeStored).with(10, 1)), M},
		{"error text on NODES", enc(baseFields(TypeNodes).with(11, "x")), M},
		{"contacts on ERROR", enc(baseFields(TypeError).with(9, []any{})), M},

		// Required fields.
		{"missing key on FIND_NODE", enc(baseFields(TypeFindNode).without(6)), M},
		{"missing key on FIND_VALUE", enc(baseFields(TypeFindValue).without(6)), M},
		{"missing key on STORE", enc(baseFields(TypeStore).without(6)), M},
		{"missing key on VALUE", enc(baseFields(TypeValue).without(6)), M},
		{"null key on FIND_NODE", enc(baseFields(TypeFindNode).with(6, nil)), M},
		{"missing error code", enc(baseFields(TypeError).without(10)), M},
		{"error code 0", enc(baseFields(TypeError).with(10, 0)), M},
		{"error code 65536", enc(baseFields(TypeError).with(10, 65536)), M},

		// Key, value, TTL.
		{"key of 3 bytes", enc(baseFields(TypeFindNode).with(6, []byte{1, 2, 3})), M},
		{"key of 21 bytes", enc(baseFields(TypeFindNode).with(6, make([]byte, 21))), M},
		{"key of 0 bytes", enc(baseFields(TypeFindValue).with(6, []byte{})), M},
		{"value as text", enc(baseFields(TypeStore).with(7, "world")), M},
		{"value as array of integers", enc(baseFields(TypeStore).with(7, []any{1, 2})), M},
		{"value as float", enc(baseFields(TypeStore).with(7, 1.5)), M},
		{"value null", enc(baseFields(TypeStore).with(7, nil)), M},
		{"TTL over 32 bits", enc(baseFields(TypeStore).with(8, uint64(1)<<32)), M},
		{"TTL negative", enc(baseFields(TypeStore).with(8, -1)), M},
		{"value over MaxValueSize", enc(baseFields(TypeStore).with(7, make([]byte, MaxValueSize+1))), L},
		{"input over MaxMessageSize", enc(baseFields(TypeStore).with(7, make([]byte, MaxMessageSize))), L},
		{"input over MaxMessageSize, not CBOR", make([]byte, MaxMessageSize+1), L},

		// Contacts.
		{"more than MaxContacts contacts", enc(baseFields(TypeNodes).with(9, many)), M},
		{"packed contact of 25 bytes", enc(baseFields(TypeNodes).with(9, []any{make([]byte, 25)})), M},
		{"packed contact of 27 bytes", enc(baseFields(TypeNodes).with(9, []any{append(packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000), 0)})), M},
		{"packed contact of 20 bytes", enc(baseFields(TypeNodes).with(9, []any{nodeC[:]})), M},
		{"packed contact of 37 bytes", enc(baseFields(TypeNodes).with(9, []any{packV6(nodeC, v6, 4000)[:37]})), M},
		{"packed contact of 0 bytes", enc(baseFields(TypeNodes).with(9, []any{[]byte{}})), M},
		{"contact IPv4-mapped IPv6", enc(baseFields(TypeNodes).with(9, []any{packV6(nodeC, mapped, 4000)})), M},
		{"contact port 0", enc(baseFields(TypeNodes).with(9, []any{packV4(nodeC, [4]byte{198, 51, 100, 7}, 0)})), M},
		{"contact IPv6 port 0", enc(baseFields(TypeNodes).with(9, []any{packV6(nodeC, v6, 0)})), M},
		{"contact unspecified IPv4", enc(baseFields(TypeNodes).with(9, []any{packV4(nodeC, [4]byte{}, 4000)})), M},
		{"contact unspecified IPv6", enc(baseFields(TypeNodes).with(9, []any{packV6(nodeC, [16]byte{}, 4000)})), M},
		{"second contact bad", enc(baseFields(TypeNodes).with(9, []any{packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000), packV4(nodeD, [4]byte{198, 51, 100, 8}, 0)})), M},
		{"contact as text", enc(baseFields(TypeNodes).with(9, []any{string(packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000))})), M},
		{"contact null", enc(baseFields(TypeNodes).with(9, []any{nil})), M},
		{"contact as array", enc(baseFields(TypeNodes).with(9, []any{[]any{1, 2}})), M},
		{"contacts as map", enc(baseFields(TypeNodes).with(9, map[int]any{0: packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000)})), M},
		{"contacts as byte string", enc(baseFields(TypeNodes).with(9, packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000))), M},
		{"nesting beyond limit", enc(baseFields(TypeNodes).with(9, deep)), M},

		// Error text.
		{"error text not UTF-8", enc(baseFields(TypeError).with(11, "bad \xff")), M},
		{"error text truncated UTF-8", enc(baseFields(TypeError).with(11, "\xc3")), M},
		{"error text over 256 bytes", enc(baseFields(TypeError).with(11, strings.Repeat("x", MaxErrorText+1))), M},
		{"error text as byte string", enc(baseFields(TypeError).with(11, []byte("bad request"))), M},

		// Map keys.
		{"unknown map key 12", enc(baseFields(TypePing).with(12, 0)), M},
		{"unknown map key 0", enc(baseFields(TypePing).with(0, 0)), M},
		{"unknown map key 1000", enc(baseFields(TypePing).with(1000, 0)), M},
		{"negative map key", enc(baseFields(TypePing).with(-1, 0)), M},
		{"text map key", addPair(ping, "6131 01"), M},
		{"text map key for every field", enc(map[string]any{"1": 1, "2": testRPCID[:], "3": nodeA[:]}), M},
		{"byte string map key", addPair(ping, "4105 00"), M},
		{"17 pairs", enc(seventeen), M},
		{"duplicate key", addPair(ping, "01 01"), M},
		{"duplicate key, other value", addPair(ping, "01 02"), M},
		{"duplicate key, long form", addPair(ping, "1801 01"), M},
		{"duplicate key, 8-byte form", addPair(ping, "1b0000000000000001 01"), M},
		{"duplicate contacts", addPair(enc(baseFields(TypeNodes)), "09 80"), M},

		// Indefinite lengths and tags.
		{"indefinite-length map", append(append([]byte{0xbf}, ping[1:]...), 0xff), M},
		{"indefinite-length byte string", enc(baseFields(TypeStore).with(7, raw("5f 43776f72 42 6c64 ff"))), M},
		{"indefinite-length text string", enc(baseFields(TypeError).with(11, raw("7f 6162 ff"))), M},
		{"indefinite-length array", enc(baseFields(TypeNodes).with(9, raw("9f ff"))), M},
		{"tag on the message", append(unhex("d9d9f7"), ping...), M},
		{"tag on a field", enc(baseFields(TypeStore).with(7, cbor.Tag{Number: 24, Content: []byte("world")})), M},
		{"bignum type", enc(baseFields(TypePing).with(1, raw("c2 41 01"))), M},
		{"tag on a contact", enc(baseFields(TypeNodes).with(9, []any{cbor.Tag{Number: 64, Content: packV4(nodeC, [4]byte{198, 51, 100, 7}, 4000)}})), M},
		{"reserved additional information", unhex("a3 01 1c"), M},
		{"break outside indefinite item", addPair(ping, "ff 00"), M},

		// Trailing bytes.
		{"trailing zero byte", append(append([]byte(nil), ping...), 0), M},
		{"two messages", append(append([]byte(nil), ping...), ping...), M},
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, tt := range badInputs() {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.b)
			if err == nil {
				t.Fatalf("Decode(%x) = %+v, want an error", tt.b, m)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%x) = %v, want an error wrapping %v", tt.b, err, tt.want)
			}
			t.Log(err)
		})
	}
	t.Run("base inputs are valid", func(t *testing.T) {
		// Each bad input changes one thing in one of these.
		for typ := TypePing; typ <= TypeError; typ++ {
			if _, err := Decode(enc(baseFields(typ))); err != nil {
				t.Errorf("%s: %v", typ, err)
			}
		}
	})
}

func TestDecodeAccepts(t *testing.T) {
	// Encoders write the shortest form and omit zero fields, but decoders accept these.
	tests := []struct {
		name string
		b    []byte
		want *Message
	}{
		{"non-shortest integer", unhex("a3 1801 190001 02 48 8e3b1f62d047a915 03 54" + hex.EncodeToString(nodeA[:])),
			&Message{Type: TypePing, RPCID: testRPCID, Sender: nodeA}},
		{"keys out of order", unhex("a3 03 54" + hex.EncodeToString(nodeA[:]) + "02 48 8e3b1f62d047a915 01 01"),
			&Message{Type: TypePing, RPCID: testRPCID, Sender: nodeA}},
		{"zero flags present", enc(baseFields(TypePing).with(5, 0)), &Message{Type: TypePing, RPCID: testRPCID, Sender: nodeA}},
		{"zero TTL present", enc(baseFields(TypeStore).with(8, 0)), &Message{Type: TypeStore, RPCID: testRPCID, Sender: nodeA, Key: helloKey, Value: []byte("world")}},
		{"empty contacts present", enc(baseFields(TypeNodes).with(9, []any{})), &Message{Type: TypeNodes, RPCID: testRPCID, Sender: nodeA}},
		{"empty error text present", enc(baseFields(TypeError).with(11, "")), &Message{Type: TypeError, RPCID: testRPCID, Sender: nodeA, ErrCode: 1}},
		{"long-form byte string length", enc(baseFields(TypeStore).with(7, raw("5a00000001 41"))), &Message{Type: TypeStore, RPCID: testRPCID, Sender: nodeA, Key: helloKey, Value: []byte("A"), TTL: 3600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.b)
			if err != nil {
				t.Fatalf("Decode(%x): %v", tt.b, err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(tt.want)) {
				t.Fatalf("Decode = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	tests := []struct {
		t       Type
		name    string
		request bool
		reply   Type
	}{
		{TypePing, "PING", true, TypePong},
		{TypePong, "PONG", false, 0},
		{TypeStore, "STORE", true, TypeStored},
		{TypeStored, "STORED", false, 0},
		{TypeFindNode, "FIND_NODE", true, TypeNodes},
		{TypeNodes, "NODES", false, 0},
		{TypeFindValue, "FIND_VALUE", true, TypeValue},
		{TypeValue, "VALUE", false, 0},
		{TypeError, "ERROR", false, 0},
		{0, "Type(0)", false, 0},
		{10, "Type(10)", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.String(); got != tt.name {
				t.Errorf("String = %q", got)
			}
			if got := tt.t.IsRequest(); got != tt.request {
				t.Errorf("IsRequest = %v", got)
			}
			if tt.request {
				if got := tt.t.ReplyType(); got != tt.reply {
					t.Errorf("ReplyType = %v, want %v", got, tt.reply)
				}
			}
		})
	}
}

func TestReply(t *testing.T) {
	req := &Message{Type: TypeFindNode, RPCID: NewRPCID(), Sender: nodeA, SenderAddr: addrA, Key: nodeD}
	rep := req.Reply(TypeNodes, nodeB, addrB)
	if rep.RPCID != req.RPCID || rep.Sender != nodeB || rep.SenderAddr != addrB || rep.Type != TypeNodes {
		t.Fatalf("Reply = %+v", rep)
	}
	if first, second := NewRPCID(), NewRPCID(); first == second {
		t.Fatal("NewRPCID repeated itself")
	}
	var err error = &RemoteError{Code: CodeRefused, Text: "quota"}
	if err.Error() != "remote error 3: quota" {
		t.Fatalf("RemoteError = %q", err)
	}
}

// TestReferenceEncoding checks the hand-written encoder against fxamacker/cbor's
// deterministic encoder, and the decoders against each other, on every golden vector and
// on random messages of every type.
func TestReferenceEncoding(t *testing.T) {
	var msgs []*Message
	for _, v := range readVectors(t).Valid {
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatal(err)
		}
		m, err := referenceDecode(b)
		if err != nil {
			t.Fatalf("%s: reference decoder refuses a golden vector: %v", v.Name, err)
		}
		msgs = append(msgs, m)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		msgs = append(msgs, randomMessage(rng))
	}
	for i, m := range msgs {
		want, err := referenceEncode(m)
		if err != nil {
			t.Fatalf("message %d: reference encoder: %v", i, err)
		}
		got, err := m.Encode()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d (%s): encodings differ\n got %x\nwant %x", i, m.Type, got, want)
		}
		fast, err := Decode(got)
		if err != nil {
			t.Fatalf("message %d: decode: %v", i, err)
		}
		ref, err := referenceDecode(got)
		if err != nil {
			t.Fatalf("message %d: reference decode: %v", i, err)
		}
		if !reflect.DeepEqual(normalize(fast), normalize(ref)) {
			t.Fatalf("message %d: decoders differ:\n%+v\n%+v", i, fast, ref)
		}
	}
}

// randomMessage returns a valid message of a random type with random fields.
func randomMessage(rng *rand.Rand) *Message {
	id := func() (x ID) {
		for i := range x {
			x[i] = byte(rng.UintN(256))
		}
		return x
	}
	addr := func() netip.AddrPort {
		port := uint16(1 + rng.UintN(65535))
		if rng.UintN(2) == 0 {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(1 + rng.UintN(223)), byte(rng.UintN(256)), byte(rng.UintN(256)), byte(1 + rng.UintN(254))}), port)
		}
		var a [16]byte
		a[0], a[1] = 0x20, 0x01
		for i := 2; i < 16; i++ {
			a[i] = byte(rng.UintN(256))
		}
		return netip.AddrPortFrom(netip.AddrFrom16(a), port)
	}
	m := &Message{Type: Type(1 + rng.UintN(9)), Sender: id()}
	for i := range m.RPCID {
		m.RPCID[i] = byte(rng.UintN(256))
	}
	if rng.UintN(4) != 0 {
		m.SenderAddr = addr()
	}
	if rng.UintN(4) == 0 {
		m.Flags = FlagClient
	}
	switch m.Type {
	case TypeStore, TypeFindNode, TypeFindValue, TypeValue:
		m.Key = id()
	}
	if m.Type == TypeStore || m.Type == TypeValue {
		sizes := []int{0, 1, 23, 24, 255, 256, 65535 % MaxValueSize, MaxValueSize}
		m.Value = make([]byte, sizes[rng.UintN(uint(len(sizes)))])
		for i := range m.Value {
			m.Value[i] = byte(rng.UintN(256))
		}
		if m.Type == TypeStore && rng.UintN(2) == 0 {
			m.TTL = []uint32{1, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1}[rng.UintN(8)]
		}
	}
	if m.Type == TypeNodes {
		for range rng.UintN(MaxContacts + 1) {
			m.Contacts = append(m.Contacts, Contact{ID: id(), Addr: addr()})
		}
	}
	if m.Type == TypeError {
		m.ErrCode = uint16(1 + rng.UintN(65535))
		m.ErrText = strings.Repeat("é", int(rng.UintN(MaxErrorText/2+1)))
	}
	return m
}
