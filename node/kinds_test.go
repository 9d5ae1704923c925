package node_test

import (
	"testing"

	"kad/transports"
	"kad/transports/mem"
)

// transportKinds lists every transport the cluster scenarios run over.
var transportKinds = []transportKind{
	{name: "mem", nodes: 200, setup: memSetup(mem.Options{})},
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
