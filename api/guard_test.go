package api_test

import (
	"net/http"
	"strings"
	"testing"

	"kad/api"
)

// TestWebPagesRefused: a request a browser sends for a web page (with an Origin, or a
// Sec-Fetch-Site of another site) and one addressed to a host name a page could have
// pointed at 127.0.0.1 are refused with 403 forbidden, and store nothing; the same
// request from a program goes through, and AnyHost lets host names in.
func TestWebPagesRefused(t *testing.T) {
	c, nodes := newCluster(t, 1, api.Options{})
	a := nodes[0]
	for _, h := range []struct{ name, value string }{
		{"Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, a.url+"/v1/values/planted", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(h.name, h.value)
		wantForbidden(t, a.client, req)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, a.url+"/v1/values/planted", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "rebound.evil.example"
	wantForbidden(t, a.client, req)
	if c.Nodes[0].Store().Len() != 0 {
		t.Fatalf("the refused requests stored %d records", c.Nodes[0].Store().Len())
	}

	for _, host := range []string{"localhost:7000", "LOCALHOST", "[::1]:7000", "127.0.0.1"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.url+"/v1/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Sec-Fetch-Site", "none") // typed into the address bar
		resp, err := a.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %s: status %d, want 200", host, resp.StatusCode)
		}
	}

	_, open := newCluster(t, 1, api.Options{AnyHost: true})
	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, open[0].url+"/v1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "kad.example.org"
	resp, err := open[0].client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("AnyHost, Host kad.example.org: status %d, want 200", resp.StatusCode)
	}
}

func wantForbidden(t *testing.T, c *http.Client, req *http.Request) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s (Host %s, %v): status %d, %s; want a 403 JSON error", req.Method, req.URL.Path, req.Host, req.Header, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
