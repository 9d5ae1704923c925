package protocol

import "errors"

var (
	// ErrBadID is returned for an ID that is not exactly 20 bytes (40 hex characters).
	ErrBadID = errors.New("bad id")
	// ErrBadAddr is returned for an address that cannot be sent to.
	ErrBadAddr = errors.New("bad address")
	// ErrMalformed is returned for bytes that are not a valid kad message; the wrapped
	// text says what was wrong.
	ErrMalformed = errors.New("malformed message")
	// ErrTooLarge is returned for a message longer than MaxMessageSize, and for a value,
	// contact list or error text over its limit (PROTOCOL.md, "Limits").
	ErrTooLarge = errors.New("message too large")
)
