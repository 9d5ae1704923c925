package protocol

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

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
		{name: "unknown flag", m: with(env(TypePing), func(m *Message) { m.Flags = 4 }), want: ErrMalformed},
		{name: "dial-back flag without a nonce", m: with(env(TypePing), func(m *Message) { m.Flags = FlagDialBack }), want: ErrMalformed},
		{name: "nonce over MaxNonceSize", m: with(env(TypePing), func(m *Message) { m.Nonce = make([]byte, MaxNonceSize+1) }), want: ErrTooLarge},
		{name: "nonce on FIND_VALUE", m: with(env(TypeFindValue), func(m *Message) { m.Nonce = []byte{1} }), want: ErrMalformed},
		{name: "target on PONG", m: with(env(TypePong), func(m *Message) { m.Nonce, m.Target = []byte{1}, netip.MustParseAddrPort("192.0.2.1:4000") }), want: ErrMalformed},
		{name: "target without a nonce", m: with(env(TypePing), func(m *Message) { m.Target = netip.MustParseAddrPort("192.0.2.1:4000") }), want: ErrMalformed},
		{name: "target and the dial-back flag", m: with(env(TypePing), func(m *Message) {
			m.Flags, m.Nonce, m.Target = FlagDialBack, []byte{1}, netip.MustParseAddrPort("192.0.2.1:4000")
		}), want: ErrMalformed},
		{name: "target port 0", m: with(env(TypePing), func(m *Message) { m.Nonce, m.Target = []byte{1}, netip.MustParseAddrPort("192.0.2.1:0") }), want: ErrBadAddr},
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
