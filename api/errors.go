package api

import (
	"context"
	"errors"
	"net/http"

	"kad/node"
	"kad/protocol"
	"kad/transports"
)

// The codes of an Error, each answered with one HTTP status.
const (
	CodeBadRequest  = "bad_request" // 400: a bad key, address or body
	CodeNotFound    = "not_found"   // 404: no such value, or no such route
	CodeForbidden   = "forbidden"   // 403: a request from a web page, or for another host name
	CodeNotAllowed  = "not_allowed" // 405: the route takes other methods (see Allow)
	CodeTooLarge    = "too_large"   // 413: a value over protocol.MaxValueSize
	CodeTimeout     = "timeout"     // 504: the request's timeout passed first
	CodeUnavailable = "unavailable" // 503: the network did not answer: no contacts, no node reached, the node closed
	CodeInternal    = "internal"    // 500: this node failed
)

var codeStatus = map[string]int{
	CodeBadRequest:  http.StatusBadRequest,
	CodeNotFound:    http.StatusNotFound,
	CodeForbidden:   http.StatusForbidden,
	CodeNotAllowed:  http.StatusMethodNotAllowed,
	CodeTooLarge:    http.StatusRequestEntityTooLarge,
	CodeTimeout:     http.StatusGatewayTimeout,
	CodeUnavailable: http.StatusServiceUnavailable,
	CodeInternal:    http.StatusInternalServerError,
}

// Error is the body of every answer that is not a success: what failed, and a code
// that says which kind of failure it is.
type Error struct {
	Message string `json:"error"`
	Code    string `json:"code"`
}

func (e *Error) Error() string { return e.Message }

// Status returns the HTTP status the error's code is answered with: 500 for a code it
// does not know.
func (e *Error) Status() int {
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// nodeError words an error of the node as an Error, by what it wraps.
func nodeError(err error) *Error {
	code := CodeInternal
	var remote *protocol.RemoteError
	switch {
	case errors.Is(err, node.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, node.ErrValueTooLarge), errors.Is(err, protocol.ErrTooLarge):
		code = CodeTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		code = CodeTimeout
	case errors.Is(err, node.ErrClosed), errors.Is(err, node.ErrNoContacts), errors.Is(err, context.Canceled),
		errors.Is(err, node.ErrBadReply), errors.Is(err, transports.ErrUnreachable),
		errors.Is(err, transports.ErrRemote), errors.Is(err, transports.ErrIDMismatch),
		errors.As(err, &remote):
		code = CodeUnavailable
	}
	return &Error{Message: err.Error(), Code: code}
}
