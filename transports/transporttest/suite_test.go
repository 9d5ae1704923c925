package transporttest_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
	"kad/transports/transporttest"
)

// TestIdentified runs the suite against a transport that implements
// transports.Identified, so that the suite's checks of proven IDs run too. The IDs come
// from a directory the test keeps, standing in for a handshake.
func TestIdentified(t *testing.T) {
	network, err := mem.NewNetwork(mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := &directory{ids: map[netip.AddrPort]protocol.ID{}}
	transporttest.Run(t, func(t *testing.T) transports.Transport {
		inner, err := network.Listen(netip.MustParseAddrPort("127.0.0.1:0"))
		if err != nil {
			t.Fatal(err)
		}
		id := protocol.RandomID(nil)
		dir.set(inner.LocalAddr(), id)
		return &identified{Transport: inner, id: id, dir: dir}
	})
}

type directory struct {
	mu  sync.Mutex
	ids map[netip.AddrPort]protocol.ID
}

func (d *directory) set(a netip.AddrPort, id protocol.ID) {
	d.mu.Lock()
	d.ids[a] = id
	d.mu.Unlock()
}

func (d *directory) get(a netip.AddrPort) protocol.ID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ids[a]
}

type identified struct {
	*mem.Transport
	id  protocol.ID
	dir *directory
}

var _ transports.Identified = (*identified)(nil)

func (t *identified) LocalID() protocol.ID { return t.id }

func (t *identified) Serve(h transports.Handler) error {
	return t.Transport.Serve(func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		from.ID, from.Verified = t.dir.get(from.Addr), true
		return h(ctx, from, req)
	})
}

func (t *identified) Call(ctx context.Context, to protocol.Contact, req []byte) ([]byte, transports.Peer, error) {
	proven := t.dir.get(to.Addr)
	if !to.ID.IsZero() && to.ID != proven {
		return nil, transports.Peer{Addr: to.Addr}, fmt.Errorf("call %s: %w: got %s, want %s", to.Addr, transports.ErrIDMismatch, proven, to.ID)
	}
	resp, peer, err := t.Transport.Call(ctx, to, req)
	peer.ID, peer.Verified = proven, true
	return resp, peer, err
}
