package mem_test

import (
	"context"
	"fmt"
	"time"

	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
)

func Example() {
	network, err := mem.NewNetwork(mem.Options{Latency: time.Millisecond, Seed: 1})
	if err != nil {
		panic(err)
	}
	a, _ := network.NewTransport()
	b, _ := network.NewTransport()
	defer a.Close()
	defer b.Close()
	b.Serve(func(_ context.Context, from transports.Peer, req []byte) ([]byte, error) {
		return fmt.Appendf(nil, "hello %s, you said %q", from.Addr, req), nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, peer, err := a.Call(ctx, protocol.Contact{Addr: b.LocalAddr()}, []byte("hi"))
	fmt.Println(string(resp), peer.Addr, err)

	network.Disconnect(a.LocalAddr(), b.LocalAddr())
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, _, err = a.Call(ctx, protocol.Contact{Addr: b.LocalAddr()}, []byte("hi"))
	fmt.Println(err)
	// Output:
	// hello 10.0.0.1:4000, you said "hi" 10.0.0.2:4000 <nil>
	// mem: call 10.0.0.2:4000: context deadline exceeded
}
