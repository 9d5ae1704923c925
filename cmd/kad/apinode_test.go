package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kad/api"
)

// lockedBuffer is a bytes.Buffer that a running command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNodeAPI runs kad node --api 127.0.0.1:0 over UDP on 127.0.0.1, finds the API from
// the line after the node's, uses it with the client commands, and stops the node.
func TestNodeAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	stdin, closeStdin := io.Pipe()
	defer closeStdin.Close()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"kad", "node", "--api", "127.0.0.1:0", "--log-level", "warn"}, stdin, &stdout, &stderr)
	}()
	var lines []string
	for deadline := time.Now().Add(30 * time.Second); len(lines) < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("no api line; stdout %q, stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
		lines = strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
		lines = slices.DeleteFunc(lines, func(s string) bool { return !strings.HasPrefix(s, "node ") && !strings.HasPrefix(s, "api ") })
	}
	nodeLine, apiLine := strings.Fields(lines[0]), lines[1]
	url, ok := strings.CutPrefix(apiLine, "api http://127.0.0.1:")
	if len(nodeLine) < 3 || !ok || url == "0" {
		t.Fatalf("lines %q, want the node's and then api http://127.0.0.1:PORT", lines)
	}
	base := strings.TrimPrefix(apiLine, "api ")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st api.Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.ID.String() != nodeLine[1] || st.Addr.String() != nodeLine[2] || st.Transport != "udp" {
		t.Fatalf("status %+v, %v; node line %q", st, err, lines[0])
	}
	if code, out, errOut := runClient("", "put", "--api", base, "k", "v"); code != exitOK || out != "stored on 1 node\n" {
		t.Fatalf("put: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runClient("", "get", "--api", base, "k"); code != exitOK || out != "v\n" {
		t.Fatalf("get: %d %q %q", code, out, errOut)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("kad node: exit status %d, stderr %q", code, stderr.String())
	}
	if _, err := client.Get(base + "/v1/status"); err == nil {
		t.Fatalf("the API still answers after the node stopped")
	}
}
