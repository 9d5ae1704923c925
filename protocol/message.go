package protocol

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Type is a message type (PROTOCOL.md, "Message types").
type Type uint8

// The message types. Requests are odd, their replies even; ERROR answers any request.
const (
	TypePing      Type = 1 // PING: are you alive?
	TypePong      Type = 2 // PONG: reply to PING
	TypeStore     Type = 3 // STORE key value: keep this record
	TypeStored    Type = 4 // STORED: reply to STORE
	TypeFindNode  Type = 5 // FIND_NODE key: the k contacts you know closest to key
	TypeNodes     Type = 6 // NODES contacts: reply to FIND_NODE, or to FIND_VALUE without the value
	TypeFindValue Type = 7 // FIND_VALUE key: the value, or else as FIND_NODE
	TypeValue     Type = 8 // VALUE key value: reply to FIND_VALUE
	TypeError     Type = 9 // ERROR code text: the request was refused
)

var typeNames = [...]string{
	TypePing: "PING", TypePong: "PONG", TypeStore: "STORE", TypeStored: "STORED",
	TypeFindNode: "FIND_NODE", TypeNodes: "NODES", TypeFindValue: "FIND_VALUE",
	TypeValue: "VALUE", TypeError: "ERROR",
}

func (t Type) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Valid reports whether t is a known message type.
func (t Type) Valid() bool { return t >= TypePing && t <= TypeError }

// IsRequest reports whether t is a request type.
func (t Type) IsRequest() bool { return t.Valid() && t%2 == 1 && t != TypeError }

// ReplyType returns the reply type that normally answers request type t.
func (t Type) ReplyType() Type {
	if t == TypeFindValue {
		return TypeValue // or TypeNodes
	}
	return t + 1
}

// Flags carry one-bit facts about the sender.
type Flags uint8

const (
	// FlagClient marks a sender that does not answer requests (a client-only node);
	// receivers do not add it to their routing tables.
	FlagClient Flags = 1 << 0
	// FlagDialBack, on a PING that carries a Nonce, asks the receiver to have another
	// node PING the sender back with that nonce, at the address the PING came from
	// (PROTOCOL.md, "Reachability"). On any other message it is refused.
	FlagDialBack Flags = 1 << 1

	knownFlags = FlagClient | FlagDialBack
)

// RPCID is the random identifier a request carries and its reply echoes (paper §2.3).
type RPCID [8]byte

// NewRPCID returns a random RPCID.
func NewRPCID() RPCID {
	var id RPCID
	if _, err := rand.Read(id[:]); err != nil {
		panic("protocol: random source failed: " + err.Error())
	}
	return id
}

// Error codes an ERROR message carries.
const (
	CodeBadRequest uint16 = 1 // the request could not be decoded or made no sense
	CodeTooLarge   uint16 = 2 // a value or message over the limits
	CodeRefused    uint16 = 3 // refused by policy: quota, rate limit
	CodeInternal   uint16 = 4 // the receiver failed
	CodeUnverified uint16 = 5 // the receiver requires a verified sender ID
	CodeIDMismatch uint16 = 6 // the claimed sender ID differs from the one the transport verified
	// CodeToken: the sender's address is not validated and the request needs it (a STORE,
	// or a request whose answer is over three times its size); the ERROR carries a token
	// to send the request again with (PROTOCOL.md, "Address validation").
	CodeToken uint16 = 7
)

// ErrorText returns s as the wire carries error texts: valid UTF-8 of at most
// MaxErrorText bytes. Each run of bytes that is not UTF-8 is replaced by U+FFFD, then
// the text is cut at a rune boundary. Field 11 of ERROR and the error responses of the
// UDP and QUIC framings carry texts cut this way (PROTOCOL.md, "Limits").
func ErrorText(s string) string {
	if len(s) <= MaxErrorText && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	n := min(len(s), MaxErrorText)
	for n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Message is one Kademlia message: the envelope and the fields of its type.
// Which fields a type uses is listed in PROTOCOL.md; Decode refuses others.
type Message struct {
	Type   Type
	RPCID  RPCID
	Sender ID
	// SenderAddr is the address the sender says it listens on; invalid when it has none.
	SenderAddr netip.AddrPort
	Flags      Flags

	Key      ID        // STORE, FIND_NODE, FIND_VALUE, VALUE
	Value    []byte    // STORE, VALUE
	TTL      uint32    // STORE: seconds the sender asks the record to live; 0 means the receiver's default
	Contacts []Contact // NODES
	ErrCode  uint16    // ERROR
	ErrText  string    // ERROR

	// Token is an address-validation token: in a reply, one the receiver may echo in its
	// next requests to the sender from the same address; in a request, the echo. Any
	// message may carry one, of 1 to MaxTokenSize bytes (PROTOCOL.md, "Address validation").
	Token []byte
	// Pad is the length of the padding a request carries, zero bytes the receiver ignores,
	// so that a sender not yet validated may be sent a full answer (three times the
	// request's size). Replies carry none.
	Pad int
	// Nonce and Target are the dial-back of a reachability check, on PINGs only
	// (PROTOCOL.md, "Reachability"): a PING with FlagDialBack and a Nonce asks for a
	// dial-back; one with a Nonce and a Target asks its receiver to PING Target with the
	// Nonce; one with a Nonce alone is the dial-back. A Nonce has 1 to MaxNonceSize
	// bytes; a Target never comes without one.
	Nonce  []byte
	Target netip.AddrPort
}

// Reply returns the envelope of a reply to m of type t, from sender.
func (m *Message) Reply(t Type, sender ID, senderAddr netip.AddrPort) *Message {
	return &Message{Type: t, RPCID: m.RPCID, Sender: sender, SenderAddr: senderAddr}
}

// RemoteError is an ERROR reply, returned as a Go error by the node's client side.
type RemoteError struct {
	Code uint16
	Text string
}

func (e *RemoteError) Error() string { return fmt.Sprintf("remote error %d: %s", e.Code, e.Text) }
