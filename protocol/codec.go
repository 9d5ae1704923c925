package protocol

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/fxamacker/cbor/v2"
)

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
}

// Fields a message may carry, by type.
const (
	fieldAddr uint16 = 1 << iota
	fieldFlags
	fieldKey
	fieldValue
	fieldTTL
	fieldContacts
	fieldErr
)

var allowedFields = [...]uint16{
	TypePing:      fieldAddr | fieldFlags,
	TypePong:      fieldAddr | fieldFlags,
	TypeStore:     fieldAddr | fieldFlags | fieldKey | fieldValue | fieldTTL,
	TypeStored:    fieldAddr | fieldFlags,
	TypeFindNode:  fieldAddr | fieldFlags | fieldKey,
	TypeNodes:     fieldAddr | fieldFlags | fieldContacts,
	TypeFindValue: fieldAddr | fieldFlags | fieldKey,
	TypeValue:     fieldAddr | fieldFlags | fieldKey | fieldValue,
	TypeError:     fieldAddr | fieldFlags | fieldErr,
}

// requiredFields lists what must be present. A STORE or VALUE with an empty value is
// legal, so fieldValue is never required.
var requiredFields = [...]uint16{
	TypeStore:     fieldKey,
	TypeFindNode:  fieldKey,
	TypeFindValue: fieldKey,
	TypeValue:     fieldKey,
	TypeError:     fieldErr,
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{Sort: cbor.SortCoreDeterministic}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  MaxContacts,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Encode returns the CBOR encoding of m. It fails if m breaks a limit of PROTOCOL.md.
func (m *Message) Encode() ([]byte, error) {
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
	if len(m.Contacts) > 0 {
		w.Contacts = make([][]byte, len(m.Contacts))
		for i, c := range m.Contacts {
			w.Contacts[i] = appendContact(nil, c)
		}
	}
	b, err := encMode.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type, err)
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("encode %s: %w: %d bytes", m.Type, ErrTooLarge, len(b))
	}
	return b, nil
}

// check refuses what no receiver would accept.
func (m *Message) check() error {
	if !m.Type.Valid() {
		return fmt.Errorf("encode: %w: unknown type %d", ErrMalformed, m.Type)
	}
	allowed := allowedFields[m.Type]
	switch {
	case len(m.Value) > MaxValueSize:
		return fmt.Errorf("encode %s: %w: value of %d bytes, limit %d", m.Type, ErrTooLarge, len(m.Value), MaxValueSize)
	case len(m.Contacts) > MaxContacts:
		return fmt.Errorf("encode %s: %w: %d contacts, limit %d", m.Type, ErrTooLarge, len(m.Contacts), MaxContacts)
	case len(m.ErrText) > MaxErrorText:
		return fmt.Errorf("encode %s: %w: error text of %d bytes, limit %d", m.Type, ErrTooLarge, len(m.ErrText), MaxErrorText)
	case len(m.Value) > 0 && allowed&fieldValue == 0,
		len(m.Contacts) > 0 && allowed&fieldContacts == 0,
		m.TTL != 0 && allowed&fieldTTL == 0,
		(m.ErrCode != 0 || m.ErrText != "") && allowed&fieldErr == 0:
		return fmt.Errorf("encode %s: %w: field not allowed for this type", m.Type, ErrMalformed)
	}
	for _, c := range m.Contacts {
		if err := CheckAddr(c.Addr); err != nil {
			return fmt.Errorf("encode %s: contact %s: %w", m.Type, c.ID.Short(), err)
		}
	}
	return nil
}

// Decode parses one message, refusing anything PROTOCOL.md does not allow: oversized
// input, unknown types or fields, fields of the wrong length or not allowed for the type,
// indefinite lengths, tags, duplicate keys, trailing bytes. It never panics.
func Decode(b []byte) (*Message, error) {
	m := new(Message)
	if err := DecodeInto(m, b); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeInto is Decode into a caller-owned Message. The Message keeps no reference to b.
func DecodeInto(m *Message, b []byte) error {
	if len(b) > MaxMessageSize {
		return fmt.Errorf("decode: %w: %d bytes", ErrTooLarge, len(b))
	}
	var w wireMessage
	if err := decMode.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode: %w: %v", ErrMalformed, err)
	}
	if w.Type > 255 || !Type(w.Type).Valid() {
		return fmt.Errorf("decode: %w: unknown message type %d", ErrMalformed, w.Type)
	}
	t := Type(w.Type)
	*m = Message{Type: t, Flags: Flags(w.Flags), TTL: uint32(w.TTL), ErrText: w.ErrText}
	bad := func(what string, args ...any) error {
		return fmt.Errorf("decode %s: %w: %s", t, ErrMalformed, fmt.Sprintf(what, args...))
	}
	if len(w.RPCID) != len(m.RPCID) {
		return bad("rpc id of %d bytes, want %d", len(w.RPCID), len(m.RPCID))
	}
	copy(m.RPCID[:], w.RPCID)
	if len(w.Sender) != IDBytes {
		return bad("sender id of %d bytes, want %d", len(w.Sender), IDBytes)
	}
	copy(m.Sender[:], w.Sender)

	var present uint16
	set := func(f uint16, ok bool) {
		if ok {
			present |= f
		}
	}
	set(fieldAddr, w.Addr != nil)
	set(fieldFlags, w.Flags != 0)
	set(fieldKey, w.Key != nil)
	set(fieldValue, w.Value != nil)
	set(fieldTTL, w.TTL != 0)
	set(fieldContacts, w.Contacts != nil)
	set(fieldErr, w.ErrCode != 0 || w.ErrText != "")
	if extra := present &^ allowedFields[t]; extra != 0 {
		return bad("fields not allowed for this type (mask %#x)", extra)
	}
	if missing := requiredFields[t] &^ present; missing != 0 {
		return bad("missing fields (mask %#x)", missing)
	}
	if w.Flags > uint64(FlagClient) {
		return bad("unknown flags %#x", w.Flags)
	}
	if w.TTL > 1<<32-1 {
		return bad("ttl %d out of range", w.TTL)
	}
	if w.ErrCode > 1<<16-1 {
		return bad("error code %d out of range", w.ErrCode)
	}
	m.ErrCode = uint16(w.ErrCode)
	if len(w.ErrText) > MaxErrorText {
		return bad("error text of %d bytes, limit %d", len(w.ErrText), MaxErrorText)
	}
	if len(w.Value) > MaxValueSize {
		return fmt.Errorf("decode %s: %w: value of %d bytes, limit %d", t, ErrTooLarge, len(w.Value), MaxValueSize)
	}
	if w.Value != nil {
		m.Value = w.Value // the decoder copied it out of b
	}
	if w.Addr != nil {
		addr, err := parseAddr(w.Addr)
		if err != nil {
			return bad("sender address: %v", err)
		}
		m.SenderAddr = addr
	}
	if w.Key != nil {
		if len(w.Key) != IDBytes {
			return bad("key of %d bytes, want %d", len(w.Key), IDBytes)
		}
		copy(m.Key[:], w.Key)
	}
	if len(w.Contacts) > 0 {
		m.Contacts = make([]Contact, len(w.Contacts))
		for i, cb := range w.Contacts {
			c, err := parseContact(cb)
			if err != nil {
				return bad("contact %d: %v", i, err)
			}
			m.Contacts[i] = c
		}
	}
	return nil
}

// appendAddr appends the packed form of an address: 4 or 16 IP bytes, then the port big-endian.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		a := ip.As4()
		b = append(b, a[:]...)
	} else {
		a := ip.As16()
		b = append(b, a[:]...)
	}
	return append(b, byte(ap.Port()>>8), byte(ap.Port()))
}

var errAddrLen = errors.New("packed address must be 6 or 18 bytes")

func parseAddr(b []byte) (netip.AddrPort, error) {
	var ip netip.Addr
	switch len(b) {
	case 6:
		ip = netip.AddrFrom4([4]byte(b[:4]))
	case 18:
		ip = netip.AddrFrom16([16]byte(b[:16]))
		if ip.Is4In6() {
			return netip.AddrPort{}, errors.New("IPv4-mapped IPv6 address must be sent as 4 bytes")
		}
	default:
		return netip.AddrPort{}, errAddrLen
	}
	ap := netip.AddrPortFrom(ip, uint16(b[len(b)-2])<<8|uint16(b[len(b)-1]))
	if err := CheckAddr(ap); err != nil {
		return netip.AddrPort{}, err
	}
	return ap, nil
}

// appendContact appends the packed form of a contact: its 20-byte ID, then its packed address.
func appendContact(b []byte, c Contact) []byte {
	b = append(b, c.ID[:]...)
	return appendAddr(b, c.Addr)
}

func parseContact(b []byte) (Contact, error) {
	if len(b) != IDBytes+6 && len(b) != IDBytes+18 {
		return Contact{}, fmt.Errorf("packed contact of %d bytes, want %d or %d", len(b), IDBytes+6, IDBytes+18)
	}
	addr, err := parseAddr(b[IDBytes:])
	if err != nil {
		return Contact{}, err
	}
	return Contact{ID: ID(b[:IDBytes]), Addr: addr}, nil
}
