package protocol

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// The reference codec: the same wire format through fxamacker/cbor's reflection-based
// encoder and decoder. The hand-written codec must agree with it byte for byte on what it
// writes and on what it accepts (TestReferenceEncoding, FuzzDecode).

// wireMessage is the CBOR shape of a Message: a map with small integer keys, every field
// optional on the wire and checked against the message type after decoding.
type wireMessage struct {
	Type     uint64   `cbor:"1,keyasint"`
	RPCID    []byte   `cbor:"2,keyasint"`
	Sender   []byte   `cbor:"3,keyasint"`
	Addr     []byte   `cbor:"4,keyasint,omitempty"`
	Flags    uint64   `cbor:"5,keyasint,omitempty"`
	Key      []byte   `cbor:"6,keyasint,omitempty"`
	Value    []byte   `cbor:"7,keyasint,omitempty"`
	TTL      uint64   `cbor:"8,keyasint,omitempty"`
	Contacts [][]byte `cbor:"9,keyasint,omitempty"`
	ErrCode  uint64   `cbor:"10,keyasint,omitempty"`
	ErrText  string   `cbor:"11,keyasint,omitempty"`
	Token    []byte   `cbor:"12,keyasint,omitempty"`
	Padding  []byte   `cbor:"13,keyasint,omitempty"`
	Nonce    []byte   `cbor:"14,keyasint,omitempty"`
	Target   []byte   `cbor:"15,keyasint,omitempty"`
}

var (
	refEncMode cbor.EncMode
	refDecMode cbor.DecMode
)

func init() {
	var err error
	refEncMode, err = cbor.EncOptions{Sort: cbor.SortCoreDeterministic}.EncMode()
	if err != nil {
		panic(err)
	}
	opts := decOptions()
	opts.ExtraReturnErrors = cbor.ExtraDecErrorUnknownField
	refDecMode, err = opts.DecMode()
	if err != nil {
		panic(err)
	}
}

// referenceEncode encodes m with fxamacker/cbor.
func referenceEncode(m *Message) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	w := wireMessage{
		Type:    uint64(m.Type),
		RPCID:   m.RPCID[:],
		Sender:  m.Sender[:],
		Flags:   uint64(m.Flags),
		Value:   m.Value,
		TTL:     uint64(m.TTL),
		ErrCode: uint64(m.ErrCode),
		ErrText: m.ErrText,
		Token:   m.Token,
		Nonce:   m.Nonce,
	}
	if m.Target.IsValid() {
		w.Target = appendAddr(nil, m.Target)
	}
	if m.Pad > 0 {
		w.Padding = make([]byte, m.Pad)
	}
	if m.SenderAddr.IsValid() {
		w.Addr = appendAddr(nil, m.SenderAddr)
	}
	switch m.Type {
	case TypeStore, TypeFindNode, TypeFindValue, TypeValue:
		w.Key = m.Key[:]
	case TypeError:
		if w.ErrCode == 0 {
			w.ErrCode = uint64(CodeInternal)
		}
	}
	for _, c := range m.Contacts {
		w.Contacts = append(w.Contacts, appendContact(nil, c))
	}
	b, err := refEncMode.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type, err)
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("encode %s: %w: %d bytes", m.Type, ErrTooLarge, len(b))
	}
	return b, nil
}

// referenceDecode decodes b with fxamacker/cbor, then checks the shape and the schema.
func referenceDecode(b []byte) (*Message, error) {
	m := new(Message)
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("decode: %w: %d bytes", ErrTooLarge, len(b))
	}
	var w wireMessage
	if err := refDecMode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode: %w: %v", ErrMalformed, err)
	}
	present, err := checkShape(b)
	if err != nil {
		return nil, fmt.Errorf("decode: %w: %v", ErrMalformed, err)
	}
	r := rawMessage{
		present: present, typ: w.Type, flags: w.Flags, ttl: w.TTL, errCode: w.ErrCode,
		rpcID: w.RPCID, sender: w.Sender, addr: w.Addr, key: w.Key, value: w.Value,
		errText: []byte(w.ErrText), nContacts: len(w.Contacts), token: w.Token, pad: len(w.Padding),
		nonce: w.Nonce, target: w.Target,
	}
	copy(r.contacts[:], w.Contacts)
	if err := r.toMessage(m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkShape walks the top-level map of b, which the reference decoder has accepted, and returns
// the set of keys it holds (bit k for key k). fxamacker/cbor is more lenient than
// PROTOCOL.md in ways its options cannot turn off: it decodes null and undefined as an
// absent field, a simple value as an integer, and an array of small integers as a byte
// string. Checking the major type of every value refuses all of them. The walk bounds every
// read by len(b), so it is safe on any input.
func checkShape(b []byte) (uint16, error) {
	major, n, off, err := cborHead(b, 0)
	if err != nil {
		return 0, err
	}
	if major != majorMap {
		return 0, fmt.Errorf("message is %s, want map", majorName(major, n))
	}
	var present uint16
	for range n {
		var key, arg uint64
		if major, key, off, err = cborHead(b, off); err != nil {
			return 0, err
		}
		if major != majorUint || key == 0 || key >= uint64(len(keyMajor)) {
			return 0, fmt.Errorf("unknown map key (%s %d)", majorName(major, key), key)
		}
		if major, arg, off, err = cborHead(b, off); err != nil {
			return 0, err
		}
		if want := keyMajor[key]; major != want {
			return 0, fmt.Errorf("field %d: got %s, want %s", key, majorName(major, arg), majorName(want, 0))
		}
		switch major {
		case majorBytes, majorText:
			if off, err = cborSkip(b, off, arg); err != nil {
				return 0, err
			}
		case majorArray:
			for range arg {
				var l uint64
				if major, l, off, err = cborHead(b, off); err != nil {
					return 0, err
				}
				if major != majorBytes {
					return 0, fmt.Errorf("field %d: element is %s, want byte string", key, majorName(major, l))
				}
				if off, err = cborSkip(b, off, l); err != nil {
					return 0, err
				}
			}
		}
		present |= 1 << key
	}
	if off != len(b) {
		return 0, errors.New("trailing bytes")
	}
	return present, nil
}
