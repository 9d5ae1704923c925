package transport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kad/internal/transport"
	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
)

func TestOpenEveryKind(t *testing.T) {
	nw, err := mem.NewNetwork(mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range transport.Names {
		t.Run(name, func(t *testing.T) {
			if err := transport.Check(name); err != nil {
				t.Fatal(err)
			}
			tr, err := transport.Open(name, transport.Options{Network: nw})
			if err != nil {
				t.Fatal(err)
			}
			if !tr.LocalAddr().IsValid() {
				t.Errorf("local address %v", tr.LocalAddr())
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	if _, err := transport.Open("tcp", transport.Options{}); !errors.Is(err, transport.ErrUnknown) {
		t.Errorf("Open(tcp): %v, want ErrUnknown", err)
	}
	if _, err := transport.Open(transport.Mem, transport.Options{}); err == nil {
		t.Error("Open(mem) without a network succeeded")
	}
	if _, err := transport.Open(transport.UDP, transport.Options{Bind: "not an address"}); err == nil {
		t.Error("Open(udp) on a bad address succeeded")
	}
}

// TestOpenNetwork: the network name reaches the UDP and QUIC transports, so that two of
// one kind and different networks cannot talk while two of the same network can; a bad
// name is refused for every kind.
func TestOpenNetwork(t *testing.T) {
	nw, err := mem.NewNetwork(mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{transport.UDP, transport.QUIC} {
		t.Run(name, func(t *testing.T) {
			open := func(network string) transports.Transport {
				t.Helper()
				tr, err := transport.Open(name, transport.Options{NetworkName: network})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { tr.Close() })
				if err := tr.Serve(echo); err != nil {
					t.Fatal(err)
				}
				return tr
			}
			alpha1, alpha2, beta := open("alpha"), open("alpha"), open("beta")
			if resp, _, err := alpha1.Call(t.Context(), protocol.Contact{Addr: alpha2.LocalAddr()}, []byte("hi")); err != nil || string(resp) != "hi" {
				t.Errorf("alpha to alpha: %q, %v", resp, err)
			}
			// UDP drops the request unanswered, so the call ends with its context; QUIC's
			// handshake fails at once.
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			if _, _, err := alpha1.Call(ctx, protocol.Contact{Addr: beta.LocalAddr()}, []byte("hi")); err == nil {
				t.Error("alpha to beta: the call succeeded")
			}
			for deadline := time.Now().Add(5 * time.Second); wrongNetwork(t, beta) != 1; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("beta counted %v calls of another network, want 1", wrongNetwork(t, beta))
				}
			}
		})
	}
	for _, name := range transport.Names {
		if _, err := transport.Open(name, transport.Options{Network: nw, NetworkName: "Alpha"}); !errors.Is(err, transports.ErrBadNetwork) {
			t.Errorf("Open(%s) with network Alpha: %v, want ErrBadNetwork", name, err)
		}
	}
}

func echo(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) { return req, nil }

// wrongNetwork reads tr's wrong_network counter.
func wrongNetwork(t *testing.T, tr transports.Transport) float64 {
	t.Helper()
	c, ok := tr.(transports.Counting)
	if !ok {
		t.Fatalf("%T keeps no counters", tr)
	}
	for _, v := range c.Counters() {
		if v.Name == "wrong_network" {
			return v.Value
		}
	}
	t.Fatalf("%T has no wrong_network counter", tr)
	return 0
}
