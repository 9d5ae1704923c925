package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"kad/protocol"
)

// put stores the request body under the key at the k closest nodes.
func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	k, kerr := key(r)
	if kerr != nil {
		writeError(w, kerr)
		return
	}
	if r.ContentLength > protocol.MaxValueSize {
		writeError(w, tooLarge(r.ContentLength))
		return
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxValueSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, tooLarge(-1))
			return
		}
		writeError(w, &Error{Message: fmt.Sprintf("read the value: %v", err), Code: CodeBadRequest})
		return
	}
	ctx, cancel := s.context(r)
	defer cancel()
	replicas, err := s.n.Put(ctx, k, value)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Stored{Key: k, Replicas: replicas})
}

func tooLarge(size int64) *Error {
	msg := fmt.Sprintf("value over %d bytes", protocol.MaxValueSize)
	if size >= 0 {
		msg = fmt.Sprintf("value of %d bytes, limit %d", size, protocol.MaxValueSize)
	}
	return &Error{Message: msg, Code: CodeTooLarge}
}

// get answers the value stored under the key, from this node's store or the network.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	k, kerr := key(r)
	if kerr != nil {
		writeError(w, kerr)
		return
	}
	ctx, cancel := s.context(r)
	defer cancel()
	value, err := s.n.Get(ctx, k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(value)))
	w.WriteHeader(http.StatusOK)
	w.Write(value)
}
