package node_test

import (
	"context"
	"fmt"

	"kad/node"
	"kad/protocol"
	"kad/transports/mem"
)

// Three nodes on an in-memory network: one publishes a value, another finds it.
func Example() {
	nw, err := mem.NewNetwork(mem.Options{})
	if err != nil {
		panic(err)
	}
	var nodes []*node.Node
	for range 3 {
		tr, err := nw.NewTransport()
		if err != nil {
			panic(err)
		}
		n, err := node.New(node.Config{}, tr)
		if err != nil {
			panic(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	ctx := context.Background()
	for _, n := range nodes[1:] {
		if err := n.Bootstrap(ctx, nodes[0].Contact()); err != nil {
			panic(err)
		}
	}
	key := protocol.KeyFromString("greeting")
	stored, err := nodes[1].Put(ctx, key, []byte("hello"))
	if err != nil {
		panic(err)
	}
	value, err := nodes[2].Get(ctx, key)
	if err != nil {
		panic(err)
	}
	fmt.Println(stored, string(value))
	// Output: 3 hello
}
