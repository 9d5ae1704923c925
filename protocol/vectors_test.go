package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden wire vectors in testdata/vectors.json")

const vectorsFile = "testdata/vectors.json"

// golden is one fixed message of each type, plus the variants an implementation is most
// likely to get wrong. "find-node" and "nodes" are the worked example of PROTOCOL.md.
func golden() []struct {
	name string
	m    *Message
} {
	env := func(typ Type, sender ID, addr netip.AddrPort) Message {
		return Message{Type: typ, RPCID: testRPCID, Sender: sender, SenderAddr: addr}
	}
	with := func(m Message, f func(*Message)) *Message { f(&m); return &m }
	return []struct {
		name string
		m    *Message
	}{
		{"ping", with(env(TypePing, nodeA, addrA), func(*Message) {})},
		{"ping-client", with(env(TypePing, nodeA, netip.AddrPort{}), func(m *Message) { m.Flags = FlagClient })},
		{"pong", with(env(TypePong, nodeB, addrB), func(*Message) {})},
		{"store", with(env(TypeStore, nodeA, addrA), func(m *Message) {
			m.Key, m.Value, m.TTL = helloKey, []byte("world"), 86400
		})},
		{"store-empty-value", with(env(TypeStore, nodeA, addrA), func(m *Message) { m.Key = helloKey })},
		{"stored", with(env(TypeStored, nodeB, addrB), func(*Message) {})},
		{"find-node", with(env(TypeFindNode, nodeA, addrA), func(m *Message) { m.Key = nodeD })},
		{"nodes", with(env(TypeNodes, nodeB, addrB), func(m *Message) {
			m.Contacts = []Contact{{ID: nodeD, Addr: addrD}, {ID: nodeC, Addr: addrC}}
		})},
		{"nodes-empty", with(env(TypeNodes, nodeB, addrB), func(*Message) {})},
		{"find-value", with(env(TypeFindValue, nodeA, addrA), func(m *Message) { m.Key = helloKey })},
		{"value", with(env(TypeValue, nodeB, addrB), func(m *Message) { m.Key, m.Value = helloKey, []byte("world") })},
		{"error", with(env(TypeError, nodeB, addrB), func(m *Message) {
			m.ErrCode, m.ErrText = CodeBadRequest, "malformed message: missing key (6)"
		})},
		{"find-node-padded", with(env(TypeFindNode, nodeA, addrA), func(m *Message) { m.Key, m.Pad = nodeD, 16 })},
		{"nodes-token", with(env(TypeNodes, nodeB, addrB), func(m *Message) {
			m.Contacts, m.Token = []Contact{{ID: nodeC, Addr: addrC}}, unhex("0123456789abcdef")
		})},
		{"store-token", with(env(TypeStore, nodeA, addrA), func(m *Message) {
			m.Key, m.Value, m.Token = helloKey, []byte("world"), unhex("0123456789abcdef")
		})},
		{"error-token", with(env(TypeError, nodeB, addrB), func(m *Message) {
			m.ErrCode, m.ErrText, m.Token = CodeToken, "address not validated", unhex("0123456789abcdef")
		})},
		{"ping-dial-back-request", with(env(TypePing, nodeA, addrA), func(m *Message) {
			m.Flags, m.Nonce, m.Token = FlagDialBack, unhex("a1a2a3a4a5a6a7a8"), unhex("0123456789abcdef")
		})},
		{"ping-dial-back-order", with(env(TypePing, nodeB, addrB), func(m *Message) {
			m.Nonce, m.Target, m.Token = unhex("a1a2a3a4a5a6a7a8"), addrA, unhex("0123456789abcdef")
		})},
		{"ping-dial-back", with(env(TypePing, nodeC, addrC), func(m *Message) { m.Nonce = unhex("a1a2a3a4a5a6a7a8") })},
	}
}

// vectorMessage spells out a message's fields for readers of vectors.json in any language.
type vectorMessage struct {
	Type     string   `json:"type"`
	RPCID    string   `json:"rpc_id"`
	Sender   string   `json:"sender"`
	Addr     string   `json:"addr,omitempty"`
	Flags    uint8    `json:"flags,omitempty"`
	Key      string   `json:"key,omitempty"`
	Value    *string  `json:"value_hex,omitempty"`
	TTL      uint32   `json:"ttl,omitempty"`
	Contacts []string `json:"contacts,omitempty"`
	ErrCode  uint16   `json:"error_code,omitempty"`
	ErrText  string   `json:"error_text,omitempty"`
	Token    string   `json:"token,omitempty"`
	Padding  int      `json:"padding,omitempty"`
	Nonce    string   `json:"nonce,omitempty"`
	Target   string   `json:"target,omitempty"`
}

type validVector struct {
	Name    string        `json:"name"`
	Message vectorMessage `json:"message"`
	Hex     string        `json:"hex"`
}

type invalidVector struct {
	Name  string `json:"name"`
	Hex   string `json:"hex"`
	Error string `json:"error"` // "malformed" or "too large"
	// RPCID is the rpc id an ERROR reply to the input echoes: the input's, or all zero.
	RPCID string `json:"rpc_id"`
}

type vectorFile struct {
	Comment string          `json:"comment"`
	Valid   []validVector   `json:"valid"`
	Invalid []invalidVector `json:"invalid"`
}

func describe(m *Message) vectorMessage {
	v := vectorMessage{
		Type: m.Type.String(), RPCID: hex.EncodeToString(m.RPCID[:]), Sender: m.Sender.String(),
		Flags: uint8(m.Flags), TTL: m.TTL, ErrCode: m.ErrCode, ErrText: m.ErrText,
		Token: hex.EncodeToString(m.Token), Padding: m.Pad, Nonce: hex.EncodeToString(m.Nonce),
	}
	if m.Target.IsValid() {
		v.Target = m.Target.String()
	}
	if m.SenderAddr.IsValid() {
		v.Addr = m.SenderAddr.String()
	}
	switch m.Type {
	case TypeStore, TypeFindNode, TypeFindValue, TypeValue:
		v.Key = m.Key.String()
	}
	if m.Type == TypeStore || m.Type == TypeValue {
		s := hex.EncodeToString(m.Value)
		v.Value = &s
	}
	for _, c := range m.Contacts {
		v.Contacts = append(v.Contacts, c.String())
	}
	return v
}

// buildVectors computes the contents of vectors.json from the code.
func buildVectors(t *testing.T) vectorFile {
	t.Helper()
	f := vectorFile{Comment: "kad wire test vectors: see PROTOCOL.md. Each valid hex decodes to its message and is " +
		"what an encoder must produce for it; each invalid hex must be refused, and an ERROR reply to it carries " +
		"its rpc_id. Regenerate with go test ./protocol -run TestVectors -update."}
	for _, g := range golden() {
		b, err := g.m.Encode()
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		f.Valid = append(f.Valid, validVector{Name: g.name, Message: describe(g.m), Hex: hex.EncodeToString(b)})
	}
	for _, bad := range badInputs() {
		if len(bad.b) > 4096 {
			continue // the oversized inputs are easy to build and would bloat the file
		}
		kind := "malformed"
		if errors.Is(bad.want, ErrTooLarge) {
			kind = "too large"
		}
		var m Message
		DecodeInto(&m, bad.b)
		f.Invalid = append(f.Invalid, invalidVector{Name: bad.name, Hex: hex.EncodeToString(bad.b), Error: kind,
			RPCID: hex.EncodeToString(m.RPCID[:])})
	}
	return f
}

func readVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("%v (run go test ./protocol -run TestVectors -update to create it)", err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	return f
}

func TestVectors(t *testing.T) {
	want := buildVectors(t)
	if *update {
		b, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", vectorsFile)
	}
	got := readVectors(t)

	goldens := golden()
	if len(got.Valid) != len(goldens) {
		t.Fatalf("%s has %d valid vectors, the code %d: run with -update", vectorsFile, len(got.Valid), len(goldens))
	}
	for i, g := range goldens {
		v := got.Valid[i]
		t.Run("valid/"+g.name, func(t *testing.T) {
			if v.Name != g.name {
				t.Fatalf("vector %d is %q, want %q", i, v.Name, g.name)
			}
			if d := describe(g.m); !reflect.DeepEqual(v.Message, d) {
				t.Errorf("message description differs from the file:\n got %+v\nfile %+v", d, v.Message)
			}
			b, err := g.m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(b); h != v.Hex {
				t.Errorf("Encode =\n%s\nwant (from %s)\n%s", h, vectorsFile, v.Hex)
			}
			wire, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(wire)
			if err != nil {
				t.Fatalf("Decode(vector): %v", err)
			}
			if !reflect.DeepEqual(normalize(m), normalize(g.m)) {
				t.Errorf("Decode(vector) =\n%+v\nwant\n%+v", m, g.m)
			}
		})
	}

	if !reflect.DeepEqual(got.Invalid, want.Invalid) {
		t.Errorf("%s: invalid vectors differ from badInputs(): run with -update", vectorsFile)
	}
	for _, v := range got.Invalid {
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			want := ErrMalformed
			if v.Error == "too large" {
				want = ErrTooLarge
			}
			if m, err := Decode(b); !errors.Is(err, want) {
				t.Fatalf("Decode = %+v, %v; want an error wrapping %v", m, err, want)
			}
			var m Message
			DecodeInto(&m, b)
			if got := hex.EncodeToString(m.RPCID[:]); got != v.RPCID {
				t.Errorf("DecodeInto left rpc id %s, want %s", got, v.RPCID)
			}
		})
	}
}

// TestProtocolDocSample checks that the worked example in PROTOCOL.md is the one the
// encoder produces.
func TestProtocolDocSample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The example's hex is written in lines of at most 32 bytes; join them.
	text := strings.Join(strings.Fields(string(doc)), "")
	for _, g := range golden() {
		if g.name != "find-node" && g.name != "nodes" {
			continue
		}
		b, err := g.m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, hex.EncodeToString(b)) {
			t.Errorf("PROTOCOL.md does not hold the %s example:\n%s", g.name, hexLines(b))
		}
	}
}

// hexLines formats b as hex, 32 bytes a line, as PROTOCOL.md shows it.
func hexLines(b []byte) string {
	var s bytes.Buffer
	for len(b) > 0 {
		n := min(len(b), 32)
		s.WriteString(hex.EncodeToString(b[:n]))
		s.WriteByte('\n')
		b = b[n:]
	}
	return s.String()
}
