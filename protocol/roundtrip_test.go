package protocol

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

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
		{name: "FIND_NODE padded, with token", m: with(env(TypeFindNode), func(m *Message) {
			m.Key, m.Token, m.Pad = nodeD, []byte("12345678"), 200
		})},
		{name: "PING largest token", m: with(env(TypePing), func(m *Message) { m.Token = bytes.Repeat([]byte{7}, MaxTokenSize) })},
		{name: "NODES with token", m: with(env(TypeNodes), func(m *Message) { m.Contacts, m.Token = contacts(3), []byte{1} })},
		{name: "ERROR token", m: with(env(TypeError), func(m *Message) {
			m.ErrCode, m.ErrText, m.Token = CodeToken, "address not validated", []byte("abcdefgh")
		})},
		{name: "PING dial-back request", m: with(env(TypePing), func(m *Message) {
			m.Flags, m.Nonce, m.Token = FlagDialBack, []byte("12345678"), []byte("abcdefgh")
		})},
		{name: "PING dial-back order, IPv6 target", m: with(env(TypePing), func(m *Message) { m.Nonce, m.Target = []byte{1}, addrB })},
		{name: "PING dial-back largest nonce, IPv4 target", m: with(env(TypePing), func(m *Message) {
			m.Flags, m.Nonce, m.Target = FlagClient, bytes.Repeat([]byte{9}, MaxNonceSize), addrA
		})},
		{name: "PING dial-back", m: with(env(TypePing), func(m *Message) { m.Nonce = []byte("12345678") })},
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
	if rng.UintN(3) == 0 {
		m.Token = make([]byte, 1+rng.UintN(MaxTokenSize))
		for i := range m.Token {
			m.Token[i] = byte(rng.UintN(256))
		}
	}
	if m.Type.IsRequest() && len(m.Value) < MaxValueSize-1024 && rng.UintN(3) == 0 {
		m.Pad = []int{1, 23, 24, 255, 256, 1000}[rng.UintN(6)]
	}
	if m.Type == TypePing && rng.UintN(2) == 0 {
		m.Nonce = make([]byte, 1+rng.UintN(MaxNonceSize))
		for i := range m.Nonce {
			m.Nonce[i] = byte(rng.UintN(256))
		}
		switch rng.UintN(3) {
		case 0:
			m.Flags |= FlagDialBack
		case 1:
			m.Target = addr()
		}
	}
	return m
}
