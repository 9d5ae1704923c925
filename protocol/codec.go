package protocol

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Fields, one bit per map key: the bit for key k is 1<<k.
const (
	fieldType uint16 = 1 << (iota + 1)
	fieldRPCID
	fieldSender
	fieldAddr
	fieldFlags
	fieldKey
	fieldValue
	fieldTTL
	fieldContacts
	fieldErrCode
	fieldErrText

	// fieldsEnvelope may appear in every message; fieldsRequired must.
	fieldsEnvelope = fieldType | fieldRPCID | fieldSender | fieldAddr | fieldFlags
	fieldsRequired = fieldType | fieldRPCID | fieldSender
)

var allowedFields = [...]uint16{
	TypePing:      fieldsEnvelope,
	TypePong:      fieldsEnvelope,
	TypeStore:     fieldsEnvelope | fieldKey | fieldValue | fieldTTL,
	TypeStored:    fieldsEnvelope,
	TypeFindNode:  fieldsEnvelope | fieldKey,
	TypeNodes:     fieldsEnvelope | fieldContacts,
	TypeFindValue: fieldsEnvelope | fieldKey,
	TypeValue:     fieldsEnvelope | fieldKey | fieldValue,
	TypeError:     fieldsEnvelope | fieldErrCode | fieldErrText,
}

// requiredFields lists what must be present besides fieldsRequired. A STORE or VALUE
// with an empty value is legal, so fieldValue is never required.
var requiredFields = [...]uint16{
	TypePing:      fieldsRequired,
	TypePong:      fieldsRequired,
	TypeStore:     fieldsRequired | fieldKey,
	TypeStored:    fieldsRequired,
	TypeFindNode:  fieldsRequired | fieldKey,
	TypeNodes:     fieldsRequired,
	TypeFindValue: fieldsRequired | fieldKey,
	TypeValue:     fieldsRequired | fieldKey,
	TypeError:     fieldsRequired | fieldErrCode,
}

// CBOR major types (RFC 8949 §3.1).
const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// keyMajor is the major type each key's value must have; key 9 is an array of byte strings.
var keyMajor = [...]byte{
	1: majorUint, 2: majorBytes, 3: majorBytes, 4: majorBytes, 5: majorUint,
	6: majorBytes, 7: majorBytes, 8: majorUint, 9: majorArray, 10: majorUint, 11: majorText,
}

// wellformed checks the CBOR syntax of incoming bytes before the schema walk: definite
// lengths only, no tags, nesting and array and map sizes within the limits.
var wellformed cbor.DecMode

// decOptions are the CBOR limits of PROTOCOL.md, "Decoding rules".
func decOptions() cbor.DecOptions {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  4,
		MaxArrayElements: MaxContacts,
		MaxMapPairs:      16,
		UTF8:             cbor.UTF8RejectInvalid,
	}
}

func init() {
	var err error
	if wellformed, err = decOptions().DecMode(); err != nil {
		panic(err)
	}
}

// Encode returns the CBOR encoding of m. It fails if m breaks a limit of PROTOCOL.md.
func (m *Message) Encode() ([]byte, error) {
	return m.AppendEncode(nil)
}

// AppendEncode appends the CBOR encoding of m to dst. It fails if m breaks a limit of
// PROTOCOL.md, leaving dst as it was.
//
// The encoding is written directly: a map of small unsigned keys in ascending order, each
// value in its shortest form (RFC 8949 §4.2.1, core deterministic encoding). It is the
// byte-for-byte output of fxamacker/cbor's SortCoreDeterministic encoder on the same
// fields, which the tests check; writing it by hand takes one allocation instead of a
// dozen and a fifth of the time (BENCHMARKS.md).
func (m *Message) AppendEncode(dst []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return dst, err
	}
	start := len(dst)
	if dst == nil {
		dst = make([]byte, 0, m.encodedSizeHint())
	}
	b := appendMessage(dst, m)
	if len(b)-start > MaxMessageSize {
		return dst[:start], fmt.Errorf("encode %s: %w: %d bytes", m.Type, ErrTooLarge, len(b)-start)
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
		(m.ErrCode != 0 || m.ErrText != "") && allowed&fieldErrCode == 0:
		return fmt.Errorf("encode %s: %w: field not allowed for this type", m.Type, ErrMalformed)
	case m.Flags&^FlagClient != 0:
		return fmt.Errorf("encode %s: %w: unknown flags %#x", m.Type, ErrMalformed, uint8(m.Flags))
	case !utf8.ValidString(m.ErrText):
		return fmt.Errorf("encode %s: %w: error text is not valid UTF-8", m.Type, ErrMalformed)
	}
	if m.SenderAddr.IsValid() {
		if err := CheckAddr(m.SenderAddr); err != nil {
			return fmt.Errorf("encode %s: sender address: %w", m.Type, err)
		}
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
// On failure m holds only what was read before the fault; in particular m.RPCID is set
// whenever the input was well-formed CBOR with an 8-byte rpc id, so that a receiver can
// echo it in its ERROR reply (PROTOCOL.md, "Malformed input").
func DecodeInto(m *Message, b []byte) error {
	*m = Message{}
	if len(b) > MaxMessageSize {
		return fmt.Errorf("decode: %w: %d bytes", ErrTooLarge, len(b))
	}
	if err := wellformed.Wellformed(b); err != nil {
		return fmt.Errorf("decode: %w: %v", ErrMalformed, err)
	}
	var r rawMessage
	if err := r.parse(b); err != nil {
		if len(r.rpcID) == len(m.RPCID) {
			copy(m.RPCID[:], r.rpcID)
		}
		return fmt.Errorf("decode: %w: %v", ErrMalformed, err)
	}
	return r.toMessage(m)
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

// parseContactInto reads a packed contact into c, in place, which spares a copy per
// contact.
func parseContactInto(c *Contact, b []byte) error {
	if len(b) != IDBytes+6 && len(b) != IDBytes+18 {
		return fmt.Errorf("packed contact of %d bytes, want %d or %d", len(b), IDBytes+6, IDBytes+18)
	}
	addr, err := parseAddr(b[IDBytes:])
	if err != nil {
		return err
	}
	c.ID, c.Addr = ID(b[:IDBytes]), addr
	return nil
}

var errTruncated = errors.New("truncated CBOR item")

// cborHead reads the head of the data item at b[off:]: its major type, its argument, and
// the offset just past the head. It refuses indefinite lengths and reserved values.
func cborHead(b []byte, off int) (major byte, arg uint64, next int, err error) {
	if off < 0 || off >= len(b) {
		return 0, 0, 0, errTruncated
	}
	major, ai := b[off]>>5, b[off]&0x1f
	off++
	switch {
	case ai < 24:
		return major, uint64(ai), off, nil
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(b)-off < n {
			return 0, 0, 0, errTruncated
		}
		for _, c := range b[off : off+n] {
			arg = arg<<8 | uint64(c)
		}
		return major, arg, off + n, nil
	}
	return 0, 0, 0, fmt.Errorf("indefinite length or reserved value (initial byte %#02x)", b[off-1])
}

// cborSkip returns the offset n bytes past off, if b holds them.
func cborSkip(b []byte, off int, n uint64) (int, error) {
	if n > uint64(len(b)-off) {
		return 0, errTruncated
	}
	return off + int(n), nil
}

var fieldName = [...]string{
	1: "type", 2: "rpc id", 3: "sender", 4: "address", 5: "flags", 6: "key", 7: "value",
	8: "ttl", 9: "contacts", 10: "error code", 11: "error text",
}

// fieldNames lists the fields in mask, for error messages.
func fieldNames(mask uint16) string {
	var names []string
	for k, name := range fieldName {
		if mask&(1<<k) != 0 {
			names = append(names, fmt.Sprintf("%s (%d)", name, k))
		}
	}
	return strings.Join(names, ", ")
}

func majorName(major byte, arg uint64) string {
	switch major {
	case majorUint:
		return "unsigned integer"
	case majorNegInt:
		return "negative integer"
	case majorBytes:
		return "byte string"
	case majorText:
		return "text string"
	case majorArray:
		return "array"
	case majorMap:
		return "map"
	case majorTag:
		return "tag"
	}
	switch arg {
	case 20, 21:
		return "boolean"
	case 22:
		return "null"
	case 23:
		return "undefined"
	}
	return "simple value or float"
}
