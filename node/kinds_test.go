package node_test

import (
	"crypto/ed25519"
	"testing"

	"kad/transports"
	"kad/transports/mem"
	"kad/transports/quic"
	"kad/transports/udp"
)

// transportKinds lists every transport the cluster scenarios run over: the same node code
// over memory, UDP and QUIC.
var transportKinds = []transportKind{
	{name: "mem", nodes: 200, setup: memSetup(mem.Options{})},
	{name: "udp", nodes: 50, setup: udpSetup},
	{name: "quic", nodes: 50, setup: quicSetup},
}

func memSetup(opts mem.Options) func(t testing.TB) func(t testing.TB) transports.Transport {
	return func(t testing.TB) func(t testing.TB) transports.Transport {
		nw, err := mem.NewNetwork(opts)
		if err != nil {
			t.Fatal(err)
		}
		return func(t testing.TB) transports.Transport {
			tr, err := nw.NewTransport()
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
	}
}

func udpSetup(testing.TB) func(t testing.TB) transports.Transport {
	return func(t testing.TB) transports.Transport {
		tr, err := udp.Listen("127.0.0.1:0", udp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
}

func quicSetup(testing.TB) func(t testing.TB) transports.Transport {
	return func(t testing.TB) transports.Transport {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := quic.Listen("127.0.0.1:0", key, quic.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
}
