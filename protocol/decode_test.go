package protocol

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

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
		{"unknown map key", enc(baseFields(TypePing).with(16, 0)), testRPCID},
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

// TestDecodeIntoEchoesRPCIDWhereverTheFault puts each fault before the rpc id and after
// it: a receiver echoes the same rpc id either way, because DecodeInto looks for key 2
// past a fault the strict parse stopped at.
func TestDecodeIntoEchoesRPCIDWhereverTheFault(t *testing.T) {
	rpcID := pair(2, testRPCID[:])
	typ, sender := pair(1, int(TypePing)), pair(3, nodeA[:])
	tests := []struct {
		name  string
		fault [][]byte // pairs that break a rule, placed before or after rpcID
		rest  [][]byte // the other pairs of the message
	}{
		{"key 0", [][]byte{pair(0, 0)}, [][]byte{typ, sender}},
		{"unknown key 16", [][]byte{pair(16, 0)}, [][]byte{typ, sender}},
		{"unknown key 1000", [][]byte{pair(1000, "x")}, [][]byte{typ, sender}},
		{"negative key", [][]byte{pair(-1, 0)}, [][]byte{typ, sender}},
		{"text key", [][]byte{pair("1", 1)}, [][]byte{typ, sender}},
		{"byte string key", [][]byte{pair([]byte{5}, 0)}, [][]byte{typ, sender}},
		{"array key", [][]byte{pair([]any{2}, testRPCID[:])}, [][]byte{typ, sender}},
		{"map key", [][]byte{pair(map[int]any{2: testRPCID[:]}, 0)}, [][]byte{typ, sender}},
		{"type as byte string", [][]byte{pair(1, []byte{1})}, [][]byte{sender}},
		{"type as text", [][]byte{pair(1, "1")}, [][]byte{sender}},
		{"sender as text", [][]byte{pair(3, string(nodeA[:]))}, [][]byte{typ}},
		{"flags null", [][]byte{pair(5, nil)}, [][]byte{typ, sender}},
		{"flags undefined", [][]byte{pair(5, raw("f7"))}, [][]byte{typ, sender}},
		{"flags simple value", [][]byte{pair(5, raw("f0"))}, [][]byte{typ, sender}},
		{"ttl as float", [][]byte{pair(8, 1.5)}, [][]byte{pair(1, int(TypeStore)), sender, pair(6, helloKey[:])}},
		{"contacts as map", [][]byte{pair(9, map[int]any{2: testRPCID[:]})}, [][]byte{pair(1, int(TypeNodes)), sender}},
		{"contact as integer", [][]byte{pair(9, []any{1})}, [][]byte{pair(1, int(TypeNodes)), sender}},
		{"error text not UTF-8", [][]byte{pair(11, "\xff")}, [][]byte{pair(1, int(TypeError)), sender, pair(10, 1)}},
		{"duplicate key", [][]byte{sender, pair(3, nodeB[:])}, [][]byte{typ}},
		{"duplicate key, long form", [][]byte{sender, unhex("1803 54" + hex.EncodeToString(nodeB[:]))}, [][]byte{typ}},
		// Faults the schema check finds after the parse: where they stand never mattered.
		{"value on PING", [][]byte{pair(7, []byte("x"))}, [][]byte{typ, sender}},
		{"unknown type", [][]byte{pair(1, 77)}, [][]byte{sender}},
		{"sender of 3 bytes", [][]byte{pair(3, []byte{1, 2, 3})}, [][]byte{typ}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, order := range []struct {
				name  string
				pairs [][]byte
			}{
				{"fault before rpc id", slices.Concat(tt.fault, [][]byte{rpcID}, tt.rest)},
				{"fault after rpc id", slices.Concat(tt.rest, [][]byte{rpcID}, tt.fault)},
			} {
				b := mapOf(order.pairs...)
				var m Message
				err := DecodeInto(&m, b)
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: DecodeInto(%x) = %v, want ErrMalformed", order.name, b, err)
				}
				if m.RPCID != testRPCID {
					t.Errorf("%s: RPCID = %x, want %x (input %x)", order.name, m.RPCID, testRPCID, b)
				}
			}
		})
	}
}

// TestDecodeIntoRPCIDRules checks which rpc id a refused input yields: the first key 2
// of the top-level map decides, and input that is not well-formed CBOR yields none.
func TestDecodeIntoRPCIDRules(t *testing.T) {
	other := RPCID{1, 2, 3, 4, 5, 6, 7, 8}
	typ, sender := pair(1, int(TypePing)), pair(3, nodeA[:])
	ping := mapOf(typ, pair(2, testRPCID[:]), sender)
	tests := []struct {
		name string
		b    []byte
		want RPCID
	}{
		{"key 2 twice: the first counts", mapOf(pair(2, testRPCID[:]), pair(2, other[:]), typ, sender), testRPCID},
		{"key 2 twice, the first too short", mapOf(pair(2, []byte{1, 2, 3}), pair(2, other[:]), typ, sender), RPCID{}},
		{"key 2 twice, the first as text", mapOf(pair(2, string(other[:])), pair(2, testRPCID[:]), typ, sender), RPCID{}},
		{"key 2 in long form after a fault", mapOf(pair(0, 0), unhex("1b0000000000000002 48"+hex.EncodeToString(testRPCID[:])), typ, sender), testRPCID},
		{"rpc id of 7 bytes after a fault", mapOf(pair(0, 0), pair(2, testRPCID[:7]), typ, sender), RPCID{}},
		{"rpc id of 9 bytes after a fault", mapOf(pair(0, 0), pair(2, append(testRPCID[:], 0)), typ, sender), RPCID{}},
		{"rpc id as array after a fault", mapOf(pair(0, 0), pair(2, []any{1, 2, 3, 4, 5, 6, 7, 8}), typ, sender), RPCID{}},
		{"key 2 only in a nested map", mapOf(typ, sender, pair(9, map[int]any{2: testRPCID[:]})), RPCID{}},
		{"no key 2", mapOf(pair(0, 0), typ, sender), RPCID{}},
		{"top-level array", enc([]any{2, testRPCID[:]}), RPCID{}},
		{"trailing bytes", append(append([]byte(nil), ping...), 0), RPCID{}},
		{"indefinite-length map", append(append([]byte{0xbf}, ping[1:]...), 0xff), RPCID{}},
		{"tag on a field", mapOf(pair(0, cbor.Tag{Number: 24, Content: []byte{0}}), pair(2, testRPCID[:]), typ, sender), RPCID{}},
		{"17 pairs", mapOf(slices.Concat([][]byte{pair(2, testRPCID[:]), typ, sender}, unknownPairs(14))...), RPCID{}},
		{"nested too deep", mapOf(pair(2, testRPCID[:]), typ, sender, pair(9, []any{[]any{[]any{[]any{0}}}})), RPCID{}},
		{"truncated", ping[:len(ping)-1], RPCID{}},
		{"over MaxMessageSize", mapOf(pair(2, testRPCID[:]), typ, sender, pair(7, make([]byte, MaxMessageSize))), RPCID{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			if err := DecodeInto(&m, tt.b); err == nil {
				t.Fatalf("DecodeInto(%x) succeeded", tt.b)
			}
			if m.RPCID != tt.want {
				t.Errorf("RPCID = %x, want %x", m.RPCID, tt.want)
			}
		})
	}
}

// unknownPairs returns n pairs under unknown keys 16, 17, …
func unknownPairs(n int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		ps[i] = pair(16+i, 0)
	}
	return ps
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
	for k := 16; len(seventeen) < 17; k++ {
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
		{"unknown flag bit 2", enc(baseFields(TypePing).with(5, 4)), M},
		{"dial-back flag without a nonce", enc(baseFields(TypePing).with(5, 2)), M},
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
		{"unknown map key 16", enc(baseFields(TypePing).with(16, 0)), M},

		// Token and padding.
		{"empty token", enc(baseFields(TypePing).with(12, []byte{})), M},
		{"token of 17 bytes", enc(baseFields(TypePing).with(12, make([]byte, MaxTokenSize+1))), M},
		{"token as text", enc(baseFields(TypePing).with(12, "abcd")), M},
		{"token as integer", enc(baseFields(TypePing).with(12, 7)), M},
		{"padding in a reply", enc(baseFields(TypePong).with(13, make([]byte, 8))), M},
		{"padding as integer", enc(baseFields(TypePing).with(13, 8)), M},

		// Dial-back nonce and target.
		{"empty nonce", enc(baseFields(TypePing).with(14, []byte{})), M},
		{"nonce of 17 bytes", enc(baseFields(TypePing).with(14, make([]byte, MaxNonceSize+1))), M},
		{"nonce as text", enc(baseFields(TypePing).with(14, "abcd")), M},
		{"nonce on FIND_NODE", enc(baseFields(TypeFindNode).with(14, []byte{1})), M},
		{"nonce on PONG", enc(baseFields(TypePong).with(14, []byte{1})), M},
		{"target without a nonce", enc(baseFields(TypePing).with(15, []byte{192, 0, 2, 1, 0x0f, 0xa0})), M},
		{"target with the dial-back flag", enc(baseFields(TypePing).with(5, 2).with(14, []byte{1}).with(15, []byte{192, 0, 2, 1, 0x0f, 0xa0})), M},
		{"target of 5 bytes", enc(baseFields(TypePing).with(14, []byte{1}).with(15, []byte{192, 0, 2, 1, 0x0f})), M},
		{"target port 0", enc(baseFields(TypePing).with(14, []byte{1}).with(15, []byte{192, 0, 2, 1, 0, 0})), M},
		{"target unspecified", enc(baseFields(TypePing).with(14, []byte{1}).with(15, []byte{0, 0, 0, 0, 0x0f, 0xa0})), M},
		{"target on STORE", enc(baseFields(TypeStore).with(14, []byte{1}).with(15, []byte{192, 0, 2, 1, 0x0f, 0xa0})), M},
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

		// Faults before the rpc id, which a receiver still echoes, and rpc ids given twice.
		{"key 0 before the rpc id", mapOf(pair(0, 0), pair(1, 1), pair(2, testRPCID[:]), pair(3, nodeA[:])), M},
		{"text key before the rpc id", mapOf(pair("1", 1), pair(1, 1), pair(2, testRPCID[:]), pair(3, nodeA[:])), M},
		{"type as byte string before the rpc id", mapOf(pair(1, []byte{1}), pair(2, testRPCID[:]), pair(3, nodeA[:])), M},
		{"duplicate type before the rpc id", mapOf(pair(1, 1), pair(1, 1), pair(2, testRPCID[:]), pair(3, nodeA[:])), M},
		{"rpc id twice", mapOf(pair(1, 1), pair(2, testRPCID[:]), pair(2, nodeA[:8]), pair(3, nodeA[:])), M},
		{"rpc id twice, the first of 7 bytes", mapOf(pair(1, 1), pair(2, testRPCID[:7]), pair(2, testRPCID[:]), pair(3, nodeA[:])), M},
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
		{"empty value present", enc(baseFields(TypeStore).with(7, []byte{})), &Message{Type: TypeStore, RPCID: testRPCID, Sender: nodeA, Key: helloKey, TTL: 3600}},
		{"empty value present on VALUE", enc(baseFields(TypeValue).with(7, []byte{})), &Message{Type: TypeValue, RPCID: testRPCID, Sender: nodeA, Key: helloKey}},
		{"every optional field present but zero", enc(baseFields(TypeStore).with(5, 0).with(7, []byte{}).with(8, 0)), &Message{Type: TypeStore, RPCID: testRPCID, Sender: nodeA, Key: helloKey}},
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
