package api

import (
	"fmt"
	"net/http"

	"kad/protocol"
)

// key reads the {key} of a route: a string hashed into a key, or with ?key=hex the key
// itself in 40 hexadecimal characters.
func key(r *http.Request) (protocol.ID, *Error) {
	s := r.PathValue("key")
	switch form := r.URL.Query().Get("key"); form {
	case "", "string":
		return protocol.KeyFromString(s), nil
	case "hex":
		id, err := protocol.ParseID(s)
		if err != nil {
			return protocol.ID{}, &Error{Message: fmt.Sprintf("key %q: %v", s, err), Code: CodeBadRequest}
		}
		return id, nil
	default:
		return protocol.ID{}, &Error{Message: fmt.Sprintf("?key=%q: want hex or string", form), Code: CodeBadRequest}
	}
}
