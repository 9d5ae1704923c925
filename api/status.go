package api

import (
	"net/http"
	"time"

	"kad/node"
	"kad/transports"
)

// status answers what the node is and holds, and its counters.
func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	st := s.n.Stats()
	out := Status{
		ID:           s.n.ID(),
		Transport:    s.opts.TransportName,
		Addr:         s.n.Addr(),
		Verified:     s.n.Verified(),
		Reachability: s.n.Reachability().String(),
		Serving:      s.n.Serving(),
		UptimeS:      time.Since(s.opts.Started).Round(time.Millisecond).Seconds(),
		Buckets:      []BucketStatus{},
		Records:      st.StoredRecords,
		RecordBytes:  st.StoredBytes,
		Stats:        counters(&st),
	}
	for _, b := range s.n.Buckets() {
		out.Contacts += len(b.Contacts)
		out.Buckets = append(out.Buckets, BucketStatus{Index: b.Index, Contacts: len(b.Contacts), Replacements: b.Replacements})
	}
	if c, ok := s.opts.Transport.(transports.Counting); ok {
		out.TransportCounters = map[string]float64{}
		for _, tc := range c.Counters() {
			out.TransportCounters[tc.Name] = tc.Value
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// counters words a node's Stats as JSON.
func counters(st *node.Stats) Counters {
	c := Counters{
		RequestsSent:    st.RequestsSent,
		RequestsFailed:  st.RequestsFailed,
		RequestsHandled: st.RequestsHandled,
		RequestsRefused: st.RequestsRefused,
		Lookups:         st.Lookups,
		LookupRequests:  st.LookupRequests,
		LookupRounds:    st.LookupRounds,
		ValuesFound:     st.ValuesFound,
		Sent:            map[string]map[string]uint64{},
		Received:        map[string]map[string]uint64{},
	}
	for i := range st.Received {
		typ := unknownType
		if i < len(node.RequestTypes) {
			typ = node.RequestTypes[i].String()
			sent := map[string]uint64{}
			for o, v := range st.Sent[i] {
				sent[node.SentOutcome(o).String()] = v
			}
			c.Sent[typ] = sent
		}
		received := map[string]uint64{}
		for o, v := range st.Received[i] {
			received[node.ReceivedOutcome(o).String()] = v
		}
		c.Received[typ] = received
	}
	return c
}

// unknownType labels the requests that named no request type.
const unknownType = "unknown"

// peers answers the routing table's contacts, by bucket.
func (s *Server) peers(w http.ResponseWriter, _ *http.Request) {
	out := Peers{Peers: []Peer{}}
	for _, b := range s.n.Buckets() {
		for _, c := range b.Contacts {
			out.Peers = append(out.Peers, Peer{ID: c.ID, Addr: c.Addr, Bucket: b.Index})
		}
	}
	out.Count = len(out.Peers)
	writeJSON(w, http.StatusOK, out)
}
