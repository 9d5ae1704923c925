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
	// ErrTooLarge is returned for a message over a size limit (PROTOCOL.md, "Limits"): by
	// Decode for input longer than MaxMessageSize or a value over MaxValueSize, which a
	// receiver refuses with CodeTooLarge; by Encode also for more than MaxContacts
	// contacts or an error text over MaxErrorText. Decode refuses those two as
	// ErrMalformed: only replies carry them, and a receiver answers requests only.
	ErrTooLarge = errors.New("message too large")
)
