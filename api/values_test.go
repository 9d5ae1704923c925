package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kad/api"
	"kad/internal/cluster"
	"kad/protocol"
)

// TestPutGetAcrossNodes puts through one node's API and gets through another's, by
// string key and by hex key, with PUT and POST.
func TestPutGetAcrossNodes(t *testing.T) {
	c, nodes := newCluster(t, 5, api.Options{})
	var stored api.Stored
	nodes[0].getJSON(t, "PUT", "/v1/values/greeting", []byte("hello"), &stored)
	want := protocol.KeyFromString("greeting")
	if stored.Key != want || stored.Replicas != len(c.Nodes) {
		t.Fatalf("put: got %+v, want key %s on %d nodes", stored, want, len(c.Nodes))
	}
	for _, path := range []string{"/v1/values/greeting", "/v1/values/greeting?key=string", "/v1/values/" + want.String() + "?key=hex"} {
		status, h, body := nodes[3].do(t, "GET", path, nil)
		if status != http.StatusOK || string(body) != "hello" || h.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("GET %s: %d %q %q, want 200 hello as application/octet-stream", path, status, h.Get("Content-Type"), body)
		}
	}

	// A key with a slash and a space, escaped as a path segment; a value of any bytes.
	skey := "a/b c"
	value := []byte{0, 1, 2, 0xff, '\n'}
	nodes[1].getJSON(t, "POST", "/v1/values/"+url.PathEscape(skey), value, &stored)
	if stored.Key != protocol.KeyFromString(skey) {
		t.Fatalf("post: key %s, want %s", stored.Key, protocol.KeyFromString(skey))
	}
	if status, _, body := nodes[4].do(t, "GET", "/v1/values/"+url.PathEscape(skey), nil); status != http.StatusOK || !bytes.Equal(body, value) {
		t.Errorf("get %q: %d %x, want %x", skey, status, body, value)
	}

	hexKey := protocol.KeyFromString("by hex")
	nodes[2].getJSON(t, "PUT", "/v1/values/"+hexKey.String()+"?key=hex", []byte("x"), &stored)
	if got, err := nodes[0].Get(t.Context(), hexKey); err != nil || string(got) != "x" {
		t.Errorf("node get of the hex key: %q %v", got, err)
	}
}

// TestValueErrors: a missing value is 404, a bad key 400, a body over the limit 413,
// each as a JSON error.
func TestValueErrors(t *testing.T) {
	_, nodes := newCluster(t, 3, api.Options{})
	a := nodes[0]
	a.wantError(t, "GET", "/v1/values/nobody-put-this", nil, http.StatusNotFound, api.CodeNotFound)
	for _, path := range []string{"/v1/values/zz?key=hex", "/v1/values/00?key=hex", "/v1/values/k?key=base64", "/v1/lookup/zz?key=hex"} {
		a.wantError(t, "GET", path, nil, http.StatusBadRequest, api.CodeBadRequest)
	}
	a.wantError(t, "PUT", "/v1/values/"+strings.Repeat("g", 40)+"?key=hex", []byte("v"), http.StatusBadRequest, api.CodeBadRequest)

	big := make([]byte, protocol.MaxValueSize+1)
	a.wantError(t, "PUT", "/v1/values/big", big, http.StatusRequestEntityTooLarge, api.CodeTooLarge)
	// Without a Content-Length the body is cut at the limit as it is read.
	req, err := http.NewRequestWithContext(t.Context(), "PUT", a.url+"/v1/values/big", io.MultiReader(bytes.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength != 0 {
		t.Errorf("chunked put of %d bytes: status %d (content length %d), want 413", len(big), resp.StatusCode, req.ContentLength)
	}
	// The largest value is taken.
	var stored api.Stored
	a.getJSON(t, "PUT", "/v1/values/big", big[:protocol.MaxValueSize], &stored)
	if st := a.Stats(); st.StoredRecords != 1 || st.StoredBytes != protocol.MaxValueSize {
		t.Errorf("after the puts the node holds %d records of %d bytes, want 1 of %d", st.StoredRecords, st.StoredBytes, protocol.MaxValueSize)
	}
}

// countingReader counts what is read of it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestPutReadsNoMoreThanTheLimit: a body of unknown length is read no further than one
// byte past protocol.MaxValueSize, however long it is.
func TestPutReadsNoMoreThanTheLimit(t *testing.T) {
	c := cluster.New(t, 1, cluster.Options{})
	srv, err := api.New(c.Nodes[0], api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: io.LimitReader(zeros{}, 64<<20)}
	req := httptest.NewRequest("PUT", "http://127.0.0.1/v1/values/huge", body)
	req.ContentLength = -1
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", w.Code, w.Body)
	}
	if body.n > 2*protocol.MaxValueSize {
		t.Fatalf("read %d bytes of the body, want about %d", body.n, protocol.MaxValueSize)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestTimeout: a get that the network does not answer within Options.Timeout is 504.
func TestTimeout(t *testing.T) {
	c, nodes := newCluster(t, 3, api.Options{Timeout: 100 * time.Millisecond})
	if err := c.Partition([]int{0}); err != nil {
		t.Fatal(err)
	}
	nodes[0].wantError(t, "GET", "/v1/values/unanswered", nil, http.StatusGatewayTimeout, api.CodeTimeout)
	if st := nodes[0].Stats(); st.Lookups == 0 {
		t.Fatalf("no lookup ran")
	}
}
