package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"kad/api"
	"kad/internal/cluster"
	"kad/protocol"
)

// runClient runs the command line args with stdin as standard input.
func runClient(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"kad"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// newAPICluster starts a mem cluster of size nodes and serves the API of each on
// 127.0.0.1; it returns the cluster and each API's HOST:PORT.
func newAPICluster(t *testing.T, size int) (*cluster.Cluster, []string) {
	t.Helper()
	c := cluster.New(t, size, cluster.Options{})
	addrs := make([]string, size)
	for i, n := range c.Nodes {
		srv, err := api.New(n, api.Options{TransportName: "mem"})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		addrs[i] = strings.TrimPrefix(ts.URL, "http://")
	}
	return c, addrs
}

// TestClientCommands puts through one node's API and gets, looks up, pings and reads the
// status through another's, as a user would, checking output and exit status.
func TestClientCommands(t *testing.T) {
	c, addrs := newAPICluster(t, 4)
	a, b := addrs[0], addrs[1]
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string // the whole of stdout, if not empty
		in    string // in stdout
	}{
		{name: "put", args: []string{"put", "--api", a, "greeting", "hello world"}, out: "stored on 4 nodes\n"},
		{name: "get", args: []string{"get", "--api", b, "greeting"}, out: "hello world\n"},
		{name: "get by url", args: []string{"get", "--api", "http://" + b, "greeting"}, out: "hello world\n"},
		{name: "put from stdin", stdin: "line one\nline two", args: []string{"put", "--api", a, "piped", "-"}, out: "stored on 4 nodes\n"},
		{name: "get from stdin", args: []string{"get", "--api", b, "piped"}, out: "line one\nline two\n"},
		{name: "put hex", args: []string{"put", "--api", b, "--hex", protocol.KeyFromString("h").String(), "by hex"}, out: "stored on 4 nodes\n"},
		{name: "get hex", args: []string{"get", "--api", a, "--hex", protocol.KeyFromString("h").String()}, out: "by hex\n"},
		{name: "get hex as string", args: []string{"get", "--api", a, "h"}, out: "by hex\n"},
		{name: "put help", args: []string{"put", "--api", a, "help", "me"}, out: "stored on 4 nodes\n"},
		{name: "get help", args: []string{"get", "--api", b, "help"}, out: "me\n"},
		{name: "get json", args: []string{"get", "--api", a, "--json", "greeting"},
			out: `{"key":"` + protocol.KeyFromString("greeting").String() + `","value":"aGVsbG8gd29ybGQ="}` + "\n"},
		{name: "not found", args: []string{"get", "--api", a, "nobody"}, code: exitNotFound},
		{name: "ping", args: []string{"ping", "--api", a, c.Nodes[2].Contact().String()}, in: "pong " + c.Nodes[2].Contact().String() + " in "},
		{name: "ping address", args: []string{"ping", "--api", a, c.Nodes[3].Addr().String()}, in: "pong " + c.Nodes[3].Contact().String()},
		{name: "status", args: []string{"status", "--api", a}, in: "node " + c.Nodes[0].ID().String() + " " + c.Nodes[0].Addr().String() + " mem unverified\n"},
		{name: "status counts", args: []string{"status", "--api", a}, in: "contacts 3 in "},
		{name: "ping nobody", args: []string{"ping", "--api", a, "10.9.9.9:1"}, code: exitUsage},
		{name: "bad hex", args: []string{"get", "--api", a, "--hex", "xyz"}, code: exitUsage},
		{name: "value too large", stdin: strings.Repeat("v", protocol.MaxValueSize+1), args: []string{"put", "--api", a, "big", "-"}, code: exitUsage},
		{name: "too few arguments", args: []string{"put", "--api", a, "k"}, code: exitUsage},
		{name: "too many arguments", args: []string{"get", "--api", a, "k", "l"}, code: exitUsage},
		{name: "bad api", args: []string{"get", "--api", "ftp://x/y", "k"}, code: exitUsage},
		{name: "bad timeout", args: []string{"get", "--api", a, "--timeout", "0s", "k"}, code: exitUsage},
		{name: "unknown flag", args: []string{"status", "--nope"}, code: exitUsage},
		{name: "nobody at the api", args: []string{"status", "--api", "127.0.0.1:1"}, code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runClient(tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit status %d, want %d; stdout %q, stderr %q", code, tt.code, out, errOut)
			}
			if tt.code != exitOK {
				if out != "" || !strings.HasPrefix(errOut, "kad: ") || strings.Count(errOut, "\n") != 1 {
					t.Errorf("stdout %q, stderr %q; want nothing and one line", out, errOut)
				}
				return
			}
			if tt.out != "" && out != tt.out || !strings.Contains(out, tt.in) {
				t.Errorf("stdout %q, want %q", out, tt.out+tt.in)
			}
		})
	}
}

// TestClientJSON: under --json a command prints the API's answer.
func TestClientJSON(t *testing.T) {
	c, addrs := newAPICluster(t, 3)
	code, out, errOut := runClient("", "put", "--api", addrs[0], "--json", "k", "v")
	var st api.Stored
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.Key != protocol.KeyFromString("k") || st.Replicas != 3 {
		t.Fatalf("put --json: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runClient("", "lookup", "--api", addrs[1], "--json", "k")
	var l api.Lookup
	if code != exitOK || json.Unmarshal([]byte(out), &l) != nil || len(l.Contacts) != 2 {
		t.Fatalf("lookup --json: %d %q %q", code, out, errOut)
	}
	code, out, _ = runClient("", "lookup", "--api", addrs[1], "k")
	var want []string
	for _, id := range c.TrueClosest(protocol.KeyFromString("k"), 20, c.Nodes[1].ID()) {
		for _, n := range c.Nodes {
			if n.ID() == id {
				want = append(want, n.Contact().String())
			}
		}
	}
	if code != exitOK || out != strings.Join(want, "\n")+"\n" {
		t.Fatalf("lookup: %d %q, want %q", code, out, want)
	}
	code, out, errOut = runClient("", "status", "--api", addrs[2], "--json")
	var s api.Status
	if code != exitOK || json.Unmarshal([]byte(out), &s) != nil || s.ID != c.Nodes[2].ID() || s.Contacts != 2 {
		t.Fatalf("status --json: %d %q %q", code, out, errOut)
	}
}
