package protocol

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// rawMessage holds the fields of a message as read off the wire, before the schema of its
// type is checked. Byte and text strings point into the input.
type rawMessage struct {
	present                  uint16 // bit k set when map key k was present
	typ, flags, ttl, errCode uint64
	rpcID, sender, addr, key []byte
	value, errText           []byte
	contacts                 [MaxContacts][]byte
	nContacts                int
}

// parse reads the top-level map of b into r. b must already be well-formed CBOR within
// the limits (wellformed.Wellformed); parse checks what that does not: that the item is a
// map, that every key is known and appears once, that every value has the CBOR type its
// key calls for (no null, undefined, simple values or floats in their place), and that
// nothing follows the map. Every read is bounded by len(b), so it is safe on any input.
func (r *rawMessage) parse(b []byte) error {
	major, n, off, err := cborHead(b, 0)
	if err != nil {
		return err
	}
	if major != majorMap {
		return fmt.Errorf("message is %s, want map", majorName(major, n))
	}
	for range n {
		var key, arg uint64
		if major, key, off, err = cborHead(b, off); err != nil {
			return err
		}
		if major != majorUint || key == 0 || key >= uint64(len(keyMajor)) {
			return fmt.Errorf("unknown map key (%s %d)", majorName(major, key), key)
		}
		if r.present&(1<<key) != 0 {
			return fmt.Errorf("duplicate map key %d", key)
		}
		r.present |= 1 << key
		if major, arg, off, err = cborHead(b, off); err != nil {
			return err
		}
		if want := keyMajor[key]; major != want {
			return fmt.Errorf("field %d: got %s, want %s", key, majorName(major, arg), majorName(want, 0))
		}
		var str []byte
		switch major {
		case majorBytes, majorText:
			end, err := cborSkip(b, off, arg)
			if err != nil {
				return err
			}
			str, off = b[off:end:end], end
		case majorArray:
			if arg > MaxContacts {
				return fmt.Errorf("field %d: %d elements, limit %d", key, arg, MaxContacts)
			}
			for i := range int(arg) {
				var l uint64
				if major, l, off, err = cborHead(b, off); err != nil {
					return err
				}
				if major != majorBytes {
					return fmt.Errorf("field %d: element is %s, want byte string", key, majorName(major, l))
				}
				end, err := cborSkip(b, off, l)
				if err != nil {
					return err
				}
				r.contacts[i], off = b[off:end:end], end
			}
			r.nContacts = int(arg)
		}
		switch key {
		case 1:
			r.typ = arg
		case 2:
			r.rpcID = str
		case 3:
			r.sender = str
		case 4:
			r.addr = str
		case 5:
			r.flags = arg
		case 6:
			r.key = str
		case 7:
			r.value = str
		case 8:
			r.ttl = arg
		case 10:
			r.errCode = arg
		case 11:
			if !utf8.Valid(str) {
				return fmt.Errorf("field 11: invalid UTF-8")
			}
			r.errText = str
		}
	}
	if off != len(b) {
		return errors.New("trailing bytes")
	}
	return nil
}

// toMessage checks r against the schema of its message type (PROTOCOL.md, "Fields") and
// fills m, copying what it keeps out of the input.
func (r *rawMessage) toMessage(m *Message) error {
	present := r.present
	if len(r.rpcID) == len(m.RPCID) {
		copy(m.RPCID[:], r.rpcID)
	}
	if present&fieldType == 0 {
		return fmt.Errorf("decode: %w: no message type", ErrMalformed)
	}
	if r.typ > 255 || !Type(r.typ).Valid() {
		return fmt.Errorf("decode: %w: unknown message type %d", ErrMalformed, r.typ)
	}
	t := Type(r.typ)
	m.Type = t
	bad := func(what string, args ...any) error {
		return fmt.Errorf("decode %s: %w: %s", t, ErrMalformed, fmt.Sprintf(what, args...))
	}
	if extra := present &^ allowedFields[t]; extra != 0 {
		return bad("%s not allowed for this type", fieldNames(extra))
	}
	if missing := requiredFields[t] &^ present; missing != 0 {
		return bad("missing %s", fieldNames(missing))
	}
	if len(r.rpcID) != len(m.RPCID) {
		return bad("rpc id of %d bytes, want %d", len(r.rpcID), len(m.RPCID))
	}
	if len(r.sender) != IDBytes {
		return bad("sender id of %d bytes, want %d", len(r.sender), IDBytes)
	}
	copy(m.Sender[:], r.sender)
	if r.flags > uint64(FlagClient) {
		return bad("unknown flags %#x", r.flags)
	}
	m.Flags = Flags(r.flags)
	if r.ttl > 1<<32-1 {
		return bad("ttl %d out of range", r.ttl)
	}
	m.TTL = uint32(r.ttl)
	if present&fieldErrCode != 0 && (r.errCode == 0 || r.errCode > 1<<16-1) {
		return bad("error code %d out of range 1..65535", r.errCode)
	}
	m.ErrCode = uint16(r.errCode)
	if len(r.errText) > MaxErrorText {
		return bad("error text of %d bytes, limit %d", len(r.errText), MaxErrorText)
	}
	if len(r.value) > MaxValueSize {
		return fmt.Errorf("decode %s: %w: value of %d bytes, limit %d", t, ErrTooLarge, len(r.value), MaxValueSize)
	}
	if present&fieldAddr != 0 {
		addr, err := parseAddr(r.addr)
		if err != nil {
			return bad("sender address: %v", err)
		}
		m.SenderAddr = addr
	}
	if present&fieldKey != 0 {
		if len(r.key) != IDBytes {
			return bad("key of %d bytes, want %d", len(r.key), IDBytes)
		}
		copy(m.Key[:], r.key)
	}
	var cs []Contact
	if r.nContacts > 0 {
		cs = make([]Contact, r.nContacts)
		for i, cb := range r.contacts[:r.nContacts] {
			if err := parseContactInto(&cs[i], cb); err != nil {
				return bad("contact %d: %v", i, err)
			}
		}
	}
	// Assigned last, so a failure leaves no half-filled message behind.
	m.Contacts = cs
	if len(r.errText) > 0 {
		m.ErrText = string(r.errText)
	}
	if present&fieldValue != 0 && len(r.value) > 0 {
		m.Value = append([]byte(nil), r.value...)
	}
	return nil
}

// encodedSizeHint returns an upper bound of m's encoded size, to allocate once.
func (m *Message) encodedSizeHint() int {
	return 64 + len(m.Value) + len(m.ErrText) + len(m.Contacts)*(IDBytes+18+1) + 2
}

// appendMessage appends the canonical encoding of m, which check has accepted.
func appendMessage(b []byte, m *Message) []byte {
	n := uint64(3) // type, rpc id, sender
	hasAddr := m.SenderAddr.IsValid()
	hasKey := m.Type == TypeStore || m.Type == TypeFindNode || m.Type == TypeFindValue || m.Type == TypeValue
	errCode := uint64(m.ErrCode)
	if m.Type == TypeError && errCode == 0 {
		errCode = uint64(CodeInternal)
	}
	for _, p := range [...]bool{hasAddr, m.Flags != 0, hasKey, len(m.Value) > 0, m.TTL != 0,
		len(m.Contacts) > 0, errCode != 0, m.ErrText != ""} {
		if p {
			n++
		}
	}
	b = appendHead(b, majorMap, n)
	b = appendHead(b, majorUint, 1)
	b = appendHead(b, majorUint, uint64(m.Type))
	b = appendHead(b, majorUint, 2)
	b = appendHead(b, majorBytes, uint64(len(m.RPCID)))
	b = append(b, m.RPCID[:]...)
	b = appendHead(b, majorUint, 3)
	b = appendHead(b, majorBytes, IDBytes)
	b = append(b, m.Sender[:]...)
	if hasAddr {
		b = appendHead(b, majorUint, 4)
		b = appendHead(b, majorBytes, uint64(addrLen(m.SenderAddr)))
		b = appendAddr(b, m.SenderAddr)
	}
	if m.Flags != 0 {
		b = appendHead(b, majorUint, 5)
		b = appendHead(b, majorUint, uint64(m.Flags))
	}
	if hasKey {
		b = appendHead(b, majorUint, 6)
		b = appendHead(b, majorBytes, IDBytes)
		b = append(b, m.Key[:]...)
	}
	if len(m.Value) > 0 {
		b = appendHead(b, majorUint, 7)
		b = appendHead(b, majorBytes, uint64(len(m.Value)))
		b = append(b, m.Value...)
	}
	if m.TTL != 0 {
		b = appendHead(b, majorUint, 8)
		b = appendHead(b, majorUint, uint64(m.TTL))
	}
	if len(m.Contacts) > 0 {
		b = appendHead(b, majorUint, 9)
		b = appendHead(b, majorArray, uint64(len(m.Contacts)))
		for _, c := range m.Contacts {
			b = appendHead(b, majorBytes, uint64(IDBytes+addrLen(c.Addr)))
			b = appendContact(b, c)
		}
	}
	if errCode != 0 {
		b = appendHead(b, majorUint, 10)
		b = appendHead(b, majorUint, errCode)
	}
	if m.ErrText != "" {
		b = appendHead(b, majorUint, 11)
		b = appendHead(b, majorText, uint64(len(m.ErrText)))
		b = append(b, m.ErrText...)
	}
	return b
}

// appendHead appends a CBOR head in its shortest form (RFC 8949 §4.2.1).
func appendHead(b []byte, major byte, arg uint64) []byte {
	mt := major << 5
	switch {
	case arg < 24:
		return append(b, mt|byte(arg))
	case arg <= 0xff:
		return append(b, mt|24, byte(arg))
	case arg <= 0xffff:
		return append(b, mt|25, byte(arg>>8), byte(arg))
	case arg <= 0xffffffff:
		return append(b, mt|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
	return append(b, mt|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32),
		byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
}
