package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"kad/api"
	"kad/internal/cluster"
	"kad/node"
	"kad/transports"
)

// apiNode is one node of a test cluster with its API served on 127.0.0.1.
type apiNode struct {
	*node.Node
	url    string
	client *http.Client
}

// newCluster starts a mem cluster of size nodes and serves the API of each, with its
// lookup metrics wired and its transport's counters, until the test ends.
func newCluster(t *testing.T, size int, opts api.Options) (*cluster.Cluster, []apiNode) {
	t.Helper()
	return newClusterConfig(t, size, node.Config{}, opts)
}

// newClusterConfig is newCluster with every node's configuration.
func newClusterConfig(t *testing.T, size int, cfg node.Config, opts api.Options) (*cluster.Cluster, []apiNode) {
	t.Helper()
	metrics := make([]*api.Metrics, size)
	trs := make([]transports.Transport, size)
	c := cluster.New(t, size, cluster.Options{
		Config: cfg,
		Configure: func(i int, cfg *node.Config) {
			metrics[i] = api.NewMetrics()
			cfg.OnLookup = metrics[i].ObserveLookup
		},
		Wrap: func(i int, tr transports.Transport) transports.Transport {
			trs[i] = tr
			return tr
		},
	})
	nodes := make([]apiNode, size)
	for i, n := range c.Nodes {
		o := opts
		o.TransportName, o.Transport, o.Metrics = "mem", trs[i], metrics[i]
		srv, err := api.New(n, o)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		nodes[i] = apiNode{Node: n, url: ts.URL, client: ts.Client()}
	}
	return c, nodes
}

// do sends a request to a's API and returns the status and the body.
func (a apiNode) do(t *testing.T, method, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, a.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// getJSON sends a request that should succeed with a JSON answer, and decodes it into v.
func (a apiNode) getJSON(t *testing.T, method, path string, body []byte, v any) {
	t.Helper()
	status, h, b := a.do(t, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, path, status, b)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
}

// wantError checks that a request fails with the status and the JSON error code.
func (a apiNode) wantError(t *testing.T, method, path string, body []byte, status int, code string) api.Error {
	t.Helper()
	got, h, b := a.do(t, method, path, body)
	var e api.Error
	if err := json.Unmarshal(b, &e); err != nil || h.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s: status %d, %q, not a JSON error: %s", method, path, got, h.Get("Content-Type"), b)
	}
	if got != status || e.Code != code || e.Message == "" {
		t.Fatalf("%s %s: status %d %+v, want %d with code %q", method, path, got, e, status, code)
	}
	return e
}
