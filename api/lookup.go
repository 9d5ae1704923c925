package api

import (
	"net/http"
	"time"
)

// lookup answers the k nodes closest to the key, from an iterative FIND_NODE.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	k, kerr := key(r)
	if kerr != nil {
		writeError(w, kerr)
		return
	}
	ctx, cancel := s.context(r)
	defer cancel()
	start := time.Now()
	closest, err := s.n.Lookup(ctx, k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Lookup{Key: k, Contacts: make([]Contact, len(closest)), TookMS: millis(time.Since(start))}
	for i, c := range closest {
		out.Contacts[i] = Contact{ID: c.ID, Addr: c.Addr}
	}
	writeJSON(w, http.StatusOK, out)
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
