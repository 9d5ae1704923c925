package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"kad/api"
	"kad/node"
	"kad/protocol"
)

// TestLookup: the lookup answers the k closest nodes, by string key and by hex key.
func TestLookup(t *testing.T) {
	c, nodes := newCluster(t, 8, api.Options{})
	a := nodes[5]
	for _, tc := range []struct{ path, key string }{
		{"/v1/lookup/somewhere", "somewhere"},
		{"/v1/lookup/" + protocol.KeyFromString("elsewhere").String() + "?key=hex", "elsewhere"},
	} {
		var got api.Lookup
		a.getJSON(t, "GET", tc.path, nil, &got)
		key := protocol.KeyFromString(tc.key)
		if got.Key != key || got.TookMS < 0 {
			t.Errorf("%s: key %s took %v ms, want key %s", tc.path, got.Key, got.TookMS, key)
		}
		var ids []protocol.ID
		for _, ct := range got.Contacts {
			ids = append(ids, ct.ID)
			if i := slices.IndexFunc(c.Nodes, func(n *node.Node) bool { return n.ID() == ct.ID }); i < 0 || c.Nodes[i].Addr() != ct.Addr {
				t.Errorf("%s: contact %s@%s is no node of the cluster", tc.path, ct.ID.Short(), ct.Addr)
			}
		}
		if want := c.TrueClosest(key, 20, a.ID()); !slices.Equal(ids, want) {
			t.Errorf("%s: got %v, want %v", tc.path, ids, want)
		}
	}
}

// TestLookupAlone: a node with no contacts has nowhere to look: 503.
func TestLookupAlone(t *testing.T) {
	_, nodes := newCluster(t, 1, api.Options{})
	nodes[0].wantError(t, "GET", "/v1/lookup/k", nil, http.StatusServiceUnavailable, api.CodeUnavailable)
}

// TestPing pings by ID@IP:PORT and by IP:PORT; a bad body or address is 400, an ID
// that does not answer at the address 503.
func TestPing(t *testing.T) {
	_, nodes := newCluster(t, 2, api.Options{})
	a, b := nodes[0], nodes[1]
	ping := func(addr string) []byte {
		body, err := json.Marshal(api.PingRequest{Addr: addr})
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	for _, addr := range []string{b.Contact().String(), b.Addr().String()} {
		var pong api.Pong
		a.getJSON(t, "POST", "/v1/ping", ping(addr), &pong)
		if pong.ID != b.ID() || pong.Addr != b.Addr() || pong.RTTMS < 0 {
			t.Errorf("ping %s: got %+v, want %s@%s", addr, pong, b.ID(), b.Addr())
		}
	}
	for _, body := range []string{``, `{`, `{"addr": 7}`, `{"addr": "127.0.0.1:1", "extra": 1}`, string(ping("nowhere")), string(ping("zz@127.0.0.1:1"))} {
		a.wantError(t, "POST", "/v1/ping", []byte(body), http.StatusBadRequest, api.CodeBadRequest)
	}
	a.wantError(t, "POST", "/v1/ping", []byte(`{"addr": "`+strings.Repeat("1", 2000)+`"}`), http.StatusRequestEntityTooLarge, api.CodeTooLarge)
	wrong := protocol.Contact{ID: protocol.KeyFromString("not b"), Addr: b.Addr()}
	a.wantError(t, "POST", "/v1/ping", ping(wrong.String()), http.StatusServiceUnavailable, api.CodeUnavailable)
}
