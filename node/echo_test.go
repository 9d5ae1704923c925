package node_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"kad/node"
	"kad/protocol"
)

// What a node answers to requests it cannot decode (PROTOCOL.md, "Malformed input"):
// the RPC ID echoed whenever the input holds one, and the code the fault calls for.

// withPair returns the encoding of m with one more map pair, given in hex, placed before
// every other pair or after them. m must encode as a map of fewer than 23 pairs, whose
// head is one byte.
func withPair(t *testing.T, m *protocol.Message, pair string, first bool) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p, err := hex.DecodeString(strings.Join(strings.Fields(pair), ""))
	if err != nil {
		t.Fatal(err)
	}
	if b[0] < 0xa0 || b[0] >= 0xb7 {
		t.Fatalf("%x is not a small map", b[0])
	}
	out := []byte{b[0] + 1}
	if first {
		return append(append(out, p...), b[1:]...)
	}
	return append(append(out, b[1:]...), p...)
}

// TestHandlerEchoesRPCIDWhereverTheFault sends requests that break a rule before their
// RPC ID and after it: the ERROR reply echoes the RPC ID either way.
func TestHandlerEchoesRPCIDWhereverTheFault(t *testing.T) {
	n, raw := newMemPair(t, node.Config{})
	ping := &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: protocol.KeyFromString("echo sender")}
	tests := []struct {
		name, pair string
	}{
		{"key 0", "00 00"},
		{"unknown key 12", "0c 00"},
		{"text key", "61 31 01"},
		{"byte string key", "41 05 00"},
		{"flags as byte string", "05 41 01"},
		{"flags null", "05 f6"},
		{"duplicate type", "01 01"},
		{"duplicate type, long form", "1801 01"},
		{"value on PING", "07 41 78"},
	}
	for _, tt := range tests {
		for _, first := range []bool{true, false} {
			name := tt.name + ", fault after rpc id"
			if first {
				name = tt.name + ", fault before rpc id"
			}
			t.Run(name, func(t *testing.T) {
				got := call(t, raw, n.Contact(), withPair(t, ping, tt.pair, first))
				if got.Type != protocol.TypeError || got.ErrCode != protocol.CodeBadRequest {
					t.Fatalf("got %s code %d (%q), want ERROR code %d", got.Type, got.ErrCode, got.ErrText, protocol.CodeBadRequest)
				}
				if got.RPCID != ping.RPCID {
					t.Errorf("rpc id %x, want %x echoed", got.RPCID, ping.RPCID)
				}
			})
		}
	}
}

// TestHandlerRefusalCodes checks the code and the RPC ID of the ERROR each fault gets:
// code 2 for a value over the limit, code 1 for every other fault, the RPC ID echoed
// unless the input is not well-formed CBOR.
func TestHandlerRefusalCodes(t *testing.T) {
	n, raw := newMemPair(t, node.Config{})
	sender := protocol.KeyFromString("echo sender")
	rpcID := protocol.NewRPCID()
	store := &protocol.Message{Type: protocol.TypeStore, RPCID: rpcID, Sender: sender, Key: protocol.KeyFromString("k")}
	valueOf := func(size int) string { // pair 7: a byte string of size bytes
		return "07 5a" + hex.EncodeToString([]byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}) +
			strings.Repeat("76", size)
	}
	errorReq := &protocol.Message{Type: protocol.TypeError, RPCID: rpcID, Sender: sender, ErrCode: protocol.CodeInternal}
	nodesReq := &protocol.Message{Type: protocol.TypeNodes, RPCID: rpcID, Sender: sender}
	ping, err := (&protocol.Message{Type: protocol.TypePing, RPCID: rpcID, Sender: sender}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  []byte
		code uint16
		echo bool
	}{
		{"value over MaxValueSize", withPair(t, store, valueOf(protocol.MaxValueSize+1), false), protocol.CodeTooLarge, true},
		{"value over MaxValueSize, before the rpc id", withPair(t, store, valueOf(protocol.MaxValueSize+1), true), protocol.CodeTooLarge, true},
		{"error text over MaxErrorText", withPair(t, errorReq, "0b 79 0101"+strings.Repeat("78", protocol.MaxErrorText+1), false), protocol.CodeBadRequest, true},
		{"more than MaxContacts contacts", withPair(t, nodesReq, "09 98 41"+strings.Repeat("40", protocol.MaxContacts+1), false), protocol.CodeBadRequest, false},
		{"trailing byte", append(ping, 0), protocol.CodeBadRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(t, raw, n.Contact(), tt.req)
			if got.Type != protocol.TypeError || got.ErrCode != tt.code {
				t.Fatalf("got %s code %d (%q), want ERROR code %d", got.Type, got.ErrCode, got.ErrText, tt.code)
			}
			want := protocol.RPCID{}
			if tt.echo {
				want = rpcID
			}
			if got.RPCID != want {
				t.Errorf("rpc id %x, want %x", got.RPCID, want)
			}
		})
	}
	t.Run("value of MaxValueSize", func(t *testing.T) {
		got := call(t, raw, n.Contact(), withPair(t, store, valueOf(protocol.MaxValueSize), false))
		if got.Type != protocol.TypeStored || got.RPCID != rpcID {
			t.Fatalf("got %s code %d (%q) rpc id %x, want STORED %x", got.Type, got.ErrCode, got.ErrText, got.RPCID, rpcID)
		}
	})
	if _, _, err := raw.Call(t.Context(), n.Contact(), make([]byte, protocol.MaxMessageSize+1)); !errors.Is(err, protocol.ErrTooLarge) {
		// No transport delivers input over MaxMessageSize, so the node never sees it.
		t.Errorf("call with %d bytes: %v, want ErrTooLarge", protocol.MaxMessageSize+1, err)
	}
}
