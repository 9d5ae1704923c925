package protocol

import (
	"fmt"
	"net/netip"
	"unicode/utf8"
)

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
	case len(m.Token) > MaxTokenSize:
		return fmt.Errorf("encode %s: %w: token of %d bytes, limit %d", m.Type, ErrTooLarge, len(m.Token), MaxTokenSize)
	case m.Pad < 0 || m.Pad > MaxMessageSize:
		return fmt.Errorf("encode %s: %w: padding of %d bytes", m.Type, ErrMalformed, m.Pad)
	case len(m.ErrText) > MaxErrorText:
		return fmt.Errorf("encode %s: %w: error text of %d bytes, limit %d", m.Type, ErrTooLarge, len(m.ErrText), MaxErrorText)
	case len(m.Value) > 0 && allowed&fieldValue == 0,
		len(m.Contacts) > 0 && allowed&fieldContacts == 0,
		m.TTL != 0 && allowed&fieldTTL == 0,
		(m.ErrCode != 0 || m.ErrText != "") && allowed&fieldErrCode == 0,
		m.Pad > 0 && allowed&fieldPadding == 0:
		return fmt.Errorf("encode %s: %w: field not allowed for this type", m.Type, ErrMalformed)
	case len(m.Nonce) > MaxNonceSize:
		return fmt.Errorf("encode %s: %w: nonce of %d bytes, limit %d", m.Type, ErrTooLarge, len(m.Nonce), MaxNonceSize)
	case (len(m.Nonce) > 0 || m.Target.IsValid()) && allowed&fieldNonce == 0:
		return fmt.Errorf("encode %s: %w: field not allowed for this type", m.Type, ErrMalformed)
	case m.Flags&^knownFlags != 0:
		return fmt.Errorf("encode %s: %w: unknown flags %#x", m.Type, ErrMalformed, uint8(m.Flags))
	case (m.Flags&FlagDialBack != 0 || m.Target.IsValid()) && len(m.Nonce) == 0,
		m.Flags&FlagDialBack != 0 && m.Target.IsValid():
		return fmt.Errorf("encode %s: %w: a dial-back flag or target needs a nonce, and not both", m.Type, ErrMalformed)
	case !utf8.ValidString(m.ErrText):
		return fmt.Errorf("encode %s: %w: error text is not valid UTF-8", m.Type, ErrMalformed)
	}
	if m.SenderAddr.IsValid() {
		if err := CheckAddr(m.SenderAddr); err != nil {
			return fmt.Errorf("encode %s: sender address: %w", m.Type, err)
		}
	}
	if m.Target.IsValid() {
		if err := CheckAddr(m.Target); err != nil {
			return fmt.Errorf("encode %s: target address: %w", m.Type, err)
		}
	}
	for _, c := range m.Contacts {
		if err := CheckAddr(c.Addr); err != nil {
			return fmt.Errorf("encode %s: contact %s: %w", m.Type, c.ID.Short(), err)
		}
	}
	return nil
}

// encodedSizeHint returns an upper bound of m's encoded size, to allocate once.
func (m *Message) encodedSizeHint() int {
	return 64 + len(m.Value) + len(m.ErrText) + len(m.Contacts)*(IDBytes+18+1) + 2 +
		len(m.Token) + 2 + m.Pad + 4 + len(m.Nonce) + 2 + 20
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
		len(m.Contacts) > 0, errCode != 0, m.ErrText != "", len(m.Token) > 0, m.Pad > 0,
		len(m.Nonce) > 0, m.Target.IsValid()} {
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
	if len(m.Token) > 0 {
		b = appendHead(b, majorUint, 12)
		b = appendHead(b, majorBytes, uint64(len(m.Token)))
		b = append(b, m.Token...)
	}
	if m.Pad > 0 {
		b = appendHead(b, majorUint, 13)
		b = appendHead(b, majorBytes, uint64(m.Pad))
		b = append(b, make([]byte, m.Pad)...)
	}
	if len(m.Nonce) > 0 {
		b = appendHead(b, majorUint, 14)
		b = appendHead(b, majorBytes, uint64(len(m.Nonce)))
		b = append(b, m.Nonce...)
	}
	if m.Target.IsValid() {
		b = appendHead(b, majorUint, 15)
		b = appendHead(b, majorBytes, uint64(addrLen(m.Target)))
		b = appendAddr(b, m.Target)
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

// appendAddr appends the packed form of an address: 4 or 16 IP bytes, then the port
// big-endian. An IPv4-mapped IPv6 address goes as the 4 bytes of its IPv4 address, the
// form decoders require.
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

// appendContact appends the packed form of a contact: its 20-byte ID, then its packed address.
func appendContact(b []byte, c Contact) []byte {
	b = append(b, c.ID[:]...)
	return appendAddr(b, c.Addr)
}
