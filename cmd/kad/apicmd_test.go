package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"kad/api"
	"kad/internal/cluster"
)

// parseAPIArgs runs the API flags through the cli package as `kad node` does, and
// returns what parseAPIFlags made of them.
func parseAPIArgs(t *testing.T, args ...string) (apiFlags, error) {
	t.Helper()
	var got apiFlags
	var perr error
	app := &cli.App{
		Name:           "kad",
		ExitErrHandler: func(*cli.Context, error) {},
		Writer:         io.Discard,
		ErrWriter:      io.Discard,
		Commands: []*cli.Command{{
			Name:  "node",
			Flags: apiFlagList(),
			Action: func(c *cli.Context) error {
				got, perr = parseAPIFlags(c)
				return nil
			},
		}},
	}
	if err := app.Run(append([]string{"kad", "node"}, args...)); err != nil {
		return got, err
	}
	return got, perr
}

func TestParseAPIFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want apiFlags
		bad  string // in the error, if any
	}{
		{name: "none"},
		{name: "loopback", args: []string{"--api", "127.0.0.1:7000"}, want: apiFlags{addr: "127.0.0.1:7000"}},
		{name: "loopback v6, port 0", args: []string{"--api", "[::1]:0"}, want: apiFlags{addr: "[::1]:0"}},
		{name: "localhost", args: []string{"--api", "localhost:7000"}, want: apiFlags{addr: "localhost:7000"}},
		{name: "from the environment", env: map[string]string{"KAD_API_ADDR": "127.0.0.2:7001"}, want: apiFlags{addr: "127.0.0.2:7001"}},
		{name: "public", args: []string{"--api", "0.0.0.0:7000", "--api-public"}, want: apiFlags{addr: "0.0.0.0:7000", public: true}},
		{name: "every interface", args: []string{"--api", ":7000"}, bad: "--api-public"},
		{name: "unspecified", args: []string{"--api", "0.0.0.0:7000"}, bad: "not a loopback address"},
		{name: "another host", args: []string{"--api", "192.0.2.1:7000"}, bad: "--api-public"},
		{name: "a name", args: []string{"--api", "example.com:7000"}, bad: "--api-public"},
		{name: "no port", args: []string{"--api", "127.0.0.1"}, bad: "HOST:PORT"},
		{name: "bad port", args: []string{"--api", "127.0.0.1:http"}, bad: "port"},
		{name: "public without api", args: []string{"--api-public"}, bad: "--api-public needs --api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := parseAPIArgs(t, tt.args...)
			if tt.bad != "" {
				var ec cli.ExitCoder
				if err == nil || !strings.Contains(err.Error(), tt.bad) || !errors.As(err, &ec) || ec.ExitCode() != exitUsage {
					t.Fatalf("got %+v, %v; want a usage error naming %q", got, err, tt.bad)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestStartAPI serves a node's API on a free port of 127.0.0.1, finds it from the line
// startAPI prints, and stops it.
func TestStartAPI(t *testing.T) {
	c := cluster.New(t, 2, cluster.Options{})
	n := c.Nodes[0]
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	stop, err := startAPI(t.Context(), &out, logger, apiFlags{addr: "127.0.0.1:0"}, n, nil, "mem", api.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	line := strings.TrimSuffix(out.String(), "\n")
	port, ok := strings.CutPrefix(line, "api http://127.0.0.1:")
	if p, err := strconv.Atoi(port); !ok || err != nil || p == 0 {
		t.Fatalf("printed %q, want one line api http://127.0.0.1:PORT", out.String())
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(strings.TrimPrefix(line, "api "))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %d, want 404", resp.StatusCode)
	}
	resp, err = client.Get(strings.TrimPrefix(line, "api ") + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st api.Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.ID != n.ID() || st.Transport != "mem" || st.Contacts != 1 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if _, err := client.Get(strings.TrimPrefix(line, "api ") + "/v1/status"); err == nil {
		t.Fatalf("the API still answers after stop")
	}

	// Without --api nothing is served or printed.
	out.Reset()
	stop, err = startAPI(context.Background(), &out, logger, apiFlags{}, n, nil, "mem", nil)
	if err != nil || out.Len() != 0 || stop() != nil {
		t.Fatalf("no --api: printed %q, %v", out.String(), err)
	}
}
