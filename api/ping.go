package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"kad/internal/console"
)

// maxPingBody bounds the body of POST /v1/ping: an ID@IP:PORT in JSON is under 120 bytes.
const maxPingBody = 1 << 10

// ping sends PING to the node the body names, and answers who answered and when.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	var req PingRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPingBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, &Error{Message: fmt.Sprintf("body over %d bytes", maxPingBody), Code: CodeTooLarge})
			return
		}
		writeError(w, &Error{Message: fmt.Sprintf(`body: %v; want {"addr": "ID@IP:PORT"} or {"addr": "IP:PORT"}`, err), Code: CodeBadRequest})
		return
	}
	to, err := console.ParseTarget(req.Addr)
	if err != nil {
		writeError(w, &Error{Message: fmt.Sprintf("addr %q: %v", req.Addr, err), Code: CodeBadRequest})
		return
	}
	ctx, cancel := s.context(r)
	defer cancel()
	start := time.Now()
	c, err := s.n.Ping(ctx, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Pong{ID: c.ID, Addr: c.Addr, RTTMS: millis(time.Since(start))})
}
