package transport_test

import (
	"errors"
	"testing"

	"kad/internal/transport"
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
