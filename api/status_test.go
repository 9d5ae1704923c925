package api_test

import (
	"net/http"
	"slices"
	"testing"

	"kad/api"
	"kad/node"
	"kad/protocol"
)

// TestStatusAndPeers: the status and the peers answer what the node holds.
func TestStatusAndPeers(t *testing.T) {
	_, nodes := newCluster(t, 6, api.Options{})
	a := nodes[2]
	if _, err := a.Put(t.Context(), protocol.KeyFromString("k"), []byte("12345")); err != nil {
		t.Fatal(err)
	}
	// The node goes on working meanwhile (its reachability checks): the status's counters
	// fall between the node's before and after it.
	before := a.Stats()
	var st api.Status
	a.getJSON(t, "GET", "/v1/status", nil, &st)
	ns := a.Stats()
	if st.ID != a.ID() || st.Addr != a.Addr() || st.Transport != "mem" || st.Verified != a.Verified() || st.UptimeS < 0 ||
		st.Reachability != a.Reachability().String() || st.Serving != a.Serving() {
		t.Errorf("status: id %s addr %s transport %q verified %v uptime %v; want %s %s mem %v",
			st.ID, st.Addr, st.Transport, st.Verified, st.UptimeS, a.ID(), a.Addr(), a.Verified())
	}
	if st.Contacts != len(a.Contacts()) || st.Contacts != len(nodes)-1 {
		t.Errorf("status: %d contacts, the node has %d", st.Contacts, len(a.Contacts()))
	}
	if st.Records != 1 || st.RecordBytes != 5 {
		t.Errorf("status: %d records of %d bytes, want 1 of 5", st.Records, st.RecordBytes)
	}
	var buckets []api.BucketStatus
	for _, b := range a.Buckets() {
		buckets = append(buckets, api.BucketStatus{Index: b.Index, Contacts: len(b.Contacts), Replacements: b.Replacements})
	}
	if !slices.Equal(st.Buckets, buckets) {
		t.Errorf("status: buckets %+v, the node's %+v", st.Buckets, buckets)
	}
	// The counters: the put's STOREs, as the node counted them.
	if got := st.Stats.Sent["STORE"]["ok"]; got == 0 || got < before.SentOf(protocol.TypeStore, node.SentOK) || got > ns.SentOf(protocol.TypeStore, node.SentOK) {
		t.Errorf("status: %d STOREs sent ok, the node counted %d before and %d after", got,
			before.SentOf(protocol.TypeStore, node.SentOK), ns.SentOf(protocol.TypeStore, node.SentOK))
	}
	if st.Stats.RequestsSent < before.RequestsSent || st.Stats.RequestsSent > ns.RequestsSent ||
		st.Stats.Lookups < before.Lookups || st.Stats.Lookups > ns.Lookups || st.Stats.Lookups == 0 {
		t.Errorf("status: counters %+v outside the node's before %+v and after %+v", st.Stats, before, ns)
	}
	if len(st.Stats.Sent) != 4 || len(st.Stats.Received) != 5 || len(st.Stats.Received["unknown"]) != int(node.NumReceivedOutcomes) {
		t.Errorf("status: sent %v, received %v; want 4 types sent, 5 received with every outcome", st.Stats.Sent, st.Stats.Received)
	}
	if _, ok := st.TransportCounters["dropped"]; !ok {
		t.Errorf("status: transport counters %v, want mem's dropped", st.TransportCounters)
	}

	var peers api.Peers
	a.getJSON(t, "GET", "/v1/peers", nil, &peers)
	if peers.Count != len(peers.Peers) || peers.Count != len(a.Contacts()) {
		t.Fatalf("peers: count %d with %d peers, the node has %d", peers.Count, len(peers.Peers), len(a.Contacts()))
	}
	for _, p := range peers.Peers {
		if !slices.Contains(a.Contacts(), protocol.Contact{ID: p.ID, Addr: p.Addr}) {
			t.Errorf("peer %s@%s is not the node's contact", p.ID, p.Addr)
		}
		if want := a.ID().CommonPrefixLen(p.ID); p.Bucket != want {
			t.Errorf("peer %s in bucket %d, want %d", p.ID.Short(), p.Bucket, want)
		}
	}
}

// TestRoutes: what matches no route is a JSON 404, a route called with another method a
// JSON 405 naming the methods it takes.
func TestRoutes(t *testing.T) {
	_, nodes := newCluster(t, 1, api.Options{})
	a := nodes[0]
	a.wantError(t, "GET", "/nope", nil, http.StatusNotFound, api.CodeNotFound)
	a.wantError(t, "GET", "/v1/values/", nil, http.StatusNotFound, api.CodeNotFound)
	a.wantError(t, "DELETE", "/v1/values/k", nil, http.StatusMethodNotAllowed, api.CodeNotAllowed)
	a.wantError(t, "GET", "/v1/ping", nil, http.StatusMethodNotAllowed, api.CodeNotAllowed)
	a.wantError(t, "POST", "/v1/status", nil, http.StatusMethodNotAllowed, api.CodeNotAllowed)
	_, h, _ := a.do(t, "DELETE", "/v1/values/k", nil)
	if allow := h.Get("Allow"); allow != "GET, HEAD, POST, PUT" {
		t.Errorf("Allow: %q, want GET, HEAD, POST, PUT", allow)
	}
	// The mux's redirect to the clean path still goes out.
	a.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if status, h, _ := a.do(t, "GET", "/v1//status", nil); status != http.StatusTemporaryRedirect || h.Get("Location") != "/v1/status" {
		t.Errorf("GET /v1//status: %d to %q, want 307 to /v1/status", status, h.Get("Location"))
	}
}
