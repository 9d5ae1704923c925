package protocol

import (
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"
)

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
//
// On failure m.RPCID is the input's rpc id whenever the input is well-formed CBOR (one
// item within the structural limits, nothing after it) and a map holding an 8-byte byte
// string under key 2, whatever else is wrong with it and wherever the fault stands, so
// that a receiver can echo it in its ERROR reply; if key 2 appears more than once, the
// first counts (PROTOCOL.md, "Malformed input"). Otherwise m.RPCID is zero. The other
// fields hold at most what was read before the fault.
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
		// The parse stops at the first fault, which may come before key 2.
		m.RPCID = findRPCID(b)
		return fmt.Errorf("decode: %w: %v", ErrMalformed, err)
	}
	return r.toMessage(m)
}

// rawMessage holds the fields of a message as read off the wire, before the schema of its
// type is checked. Byte and text strings point into the input.
type rawMessage struct {
	present                  uint16 // bit k set when map key k was present
	typ, flags, ttl, errCode uint64
	rpcID, sender, addr, key []byte
	value, errText, token    []byte
	nonce, target            []byte
	pad                      int
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
		case 12:
			r.token = str
		case 13:
			r.pad = len(str)
		case 14:
			r.nonce = str
		case 15:
			r.target = str
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
	if r.flags&^uint64(knownFlags) != 0 {
		return bad("unknown flags %#x", r.flags)
	}
	if present&fieldNonce != 0 && (len(r.nonce) == 0 || len(r.nonce) > MaxNonceSize) {
		return bad("nonce of %d bytes, want 1 to %d", len(r.nonce), MaxNonceSize)
	}
	dialBack := r.flags&uint64(FlagDialBack) != 0
	if (dialBack || present&fieldTarget != 0) && present&fieldNonce == 0 {
		return bad("a dial-back flag or target without a nonce")
	}
	if dialBack && present&fieldTarget != 0 {
		return bad("both a dial-back flag and a target")
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
	if present&fieldToken != 0 && (len(r.token) == 0 || len(r.token) > MaxTokenSize) {
		return bad("token of %d bytes, want 1 to %d", len(r.token), MaxTokenSize)
	}
	m.Pad = r.pad
	if present&fieldAddr != 0 {
		addr, err := parseAddr(r.addr)
		if err != nil {
			return bad("sender address: %v", err)
		}
		m.SenderAddr = addr
	}
	if present&fieldTarget != 0 {
		addr, err := parseAddr(r.target)
		if err != nil {
			return bad("target address: %v", err)
		}
		m.Target = addr
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
	if len(r.token) > 0 {
		m.Token = append([]byte(nil), r.token...)
	}
	if len(r.nonce) > 0 {
		m.Nonce = append([]byte(nil), r.nonce...)
	}
	return nil
}

// findRPCID returns the rpc id of b, which is well-formed CBOR (wellformed.Wellformed)
// but failed the strict parse: the value of the first pair of the top-level map whose
// key is the unsigned integer 2, in any width, if that value is an 8-byte byte string;
// else the zero RPCID. Every other key and value is skipped whatever its type, so a fault
// before key 2 hides it no more than one after it. Every read is bounded by len(b).
func findRPCID(b []byte) RPCID {
	var id RPCID
	major, n, off, err := cborHead(b, 0)
	if err != nil || major != majorMap {
		return id
	}
	for range n {
		kmajor, key, _, err := cborHead(b, off)
		if err != nil {
			return id
		}
		if off, err = cborSkipItem(b, off, 1); err != nil {
			return id
		}
		if kmajor == majorUint && key == 2 {
			major, l, start, err := cborHead(b, off)
			if err == nil && major == majorBytes && l == uint64(len(id)) && len(b)-start >= len(id) {
				copy(id[:], b[start:])
			}
			return id
		}
		if off, err = cborSkipItem(b, off, 1); err != nil {
			return id
		}
	}
	return id
}

var errTooDeep = errors.New("CBOR items nested too deep")

// cborSkipItem returns the offset just past the data item at b[off:], which sits depth
// levels of arrays and maps deep (0 for the message's map itself). It refuses tags and
// nesting beyond maxNesting, as wellformed does. Each item read consumes at least one
// byte, so the walk ends within len(b) steps whatever the counts in the heads say.
func cborSkipItem(b []byte, off, depth int) (int, error) {
	major, arg, off, err := cborHead(b, off)
	if err != nil {
		return 0, err
	}
	switch major {
	case majorBytes, majorText:
		return cborSkip(b, off, arg)
	case majorArray, majorMap:
		if depth+1 > maxNesting {
			return 0, errTooDeep
		}
		items := 1
		if major == majorMap {
			items = 2
		}
		for range arg {
			for range items {
				if off, err = cborSkipItem(b, off, depth+1); err != nil {
					return 0, err
				}
			}
		}
		return off, nil
	case majorTag:
		return 0, errors.New("tag")
	}
	return off, nil // an integer or a simple value: its head is all of it
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

var errAddrLen = errors.New("packed address must be 6 or 18 bytes")

// parseAddr reads a packed address. It refuses the 18-byte form of an IPv4-mapped IPv6
// address, which encoders must send as 6 bytes, so that one address has one encoding.
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
