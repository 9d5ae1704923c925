package udp

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"kad/protocol"
	"kad/transports"
)

// TestNetworksApart: a request to a node of another network is dropped unanswered and
// counted, and its handler never runs; the call only ends with its context.
func TestNetworksApart(t *testing.T) {
	tests := []struct{ name, from, to string }{
		{"public to named", "", "alpha"},
		{"named to public", "alpha", ""},
		{"named to another named", "alpha", "beta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handled atomic.Int32
			b := listen(t, Options{Network: tt.to}, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
				handled.Add(1)
				return req, nil
			})
			a := listen(t, Options{Network: tt.from}, nil)

			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, _, err := a.Call(ctx, protocol.Contact{Addr: b.LocalAddr()}, []byte("hello"))
				done <- err
			}()
			waitFor(t, "the request to be dropped", func() bool { return b.Stats().WrongNetwork == 1 })
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Call: %v, want it to end with its context", err)
			}
			if n := handled.Load(); n != 0 {
				t.Errorf("the handler ran %d times", n)
			}
			if s := b.Stats(); s.Malformed != 0 || s.Dropped != 0 {
				t.Errorf("receiver's stats %+v: the drop counted as something else too", s)
			}
			if s := a.Stats(); s.WrongNetwork != 0 || s.Unmatched != 0 {
				t.Errorf("caller's stats %+v: something came back", s)
			}
		})
	}
}

// TestSameNamedNetwork: two transports of one named network talk, in version-2
// datagrams carrying the network's tag.
func TestSameNamedNetwork(t *testing.T) {
	b := listen(t, Options{Network: "alpha"}, echo)
	a := listen(t, Options{Network: "alpha"}, nil)
	resp, _, err := a.Call(t.Context(), protocol.Contact{Addr: b.LocalAddr()}, []byte("hello"))
	if err != nil || string(resp) != "hello" {
		t.Fatalf("Call: %q, %v; want the echo", resp, err)
	}

	// What goes on the wire: a raw socket sees a's request framed for alpha.
	server := newRaw(t)
	ch := goCall(t, a, server.addr(), "question")
	buf := make([]byte, 1<<16)
	n, _, err := server.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	h, payload, ok := parseHeader(buf[:n])
	if !ok || !h.named || h.net != networkTag("alpha") || h.kind != kindRequest || string(payload) != "question" {
		t.Fatalf("request on the wire %x: header %+v, ok %v; want version 2 with alpha's tag", buf[:n], h, ok)
	}
	// A reply in another network's framing is not taken; the right one is.
	server.send(a.LocalAddr(), frame(kindResponse, h.tag, "public"))
	server.send(a.LocalAddr(), framingFor("beta").frame(kindResponse, h.tag, "beta"))
	waitFor(t, "two replies of other networks dropped", func() bool { return a.Stats().WrongNetwork == 2 })
	server.send(a.LocalAddr(), framingFor("alpha").frame(kindResponse, h.tag, "alpha"))
	if r := <-ch; r.err != nil || string(r.resp) != "alpha" {
		t.Errorf("Call: %q, %v; want the reply framed for alpha", r.resp, r.err)
	}
	if s := a.Stats(); s.Unmatched != 0 || s.Malformed != 0 {
		t.Errorf("caller's stats %+v", s)
	}
}

func TestBadNetworkName(t *testing.T) {
	for _, name := range []string{"Alpha", "-x", "a b", "αβ"} {
		if tr, err := Listen("127.0.0.1:0", Options{Network: name}); !errors.Is(err, transports.ErrBadNetwork) {
			if tr != nil {
				tr.Close()
			}
			t.Errorf("Listen with network %q: %v, want ErrBadNetwork", name, err)
		}
	}
}
