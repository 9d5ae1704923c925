package mem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"kad/protocol"
	"kad/transports"
)

var _ transports.Transport = (*Transport)(nil)

// Transport is one node's attachment to a Network. It starts no goroutine of its own: a
// request runs its handler in a goroutine that lives only while the handler does.
type Transport struct {
	net  *Network
	addr netip.AddrPort

	ctx    context.Context // given to handlers; canceled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed by Close

	// slots holds one element per running handler. Close fills it to capacity, which
	// waits for the running handlers and keeps new ones from starting.
	slots chan struct{}

	handler   atomic.Pointer[transports.Handler]
	dropped   atomic.Uint64
	closeOnce sync.Once
}

// message is a request on its way, with the channel its response goes to.
type message struct {
	from  netip.AddrPort
	req   []byte
	reply chan reply // buffered 1; the only send is non-blocking
}

type reply struct {
	resp []byte
	err  error
}

func newTransport(n *Network, addr netip.AddrPort) *Transport {
	ctx, cancel := context.WithCancel(context.Background())
	return &Transport{
		net:    n,
		addr:   addr,
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		slots:  make(chan struct{}, n.maxConcurrent),
	}
}

// LocalAddr returns the address the transport listens at.
func (t *Transport) LocalAddr() netip.AddrPort { return t.addr }

// Dropped counts requests dropped on arrival because the transport was not serving yet
// or was already running its maximum of concurrent handlers.
func (t *Transport) Dropped() uint64 { return t.dropped.Load() }

// Serve starts delivering requests to h. It does not block and may be called once.
func (t *Transport) Serve(h transports.Handler) error {
	if h == nil {
		return errors.New("mem: Serve with a nil handler")
	}
	if t.closed() {
		return fmt.Errorf("mem: serve %s: %w", t.addr, transports.ErrClosed)
	}
	if !t.handler.CompareAndSwap(nil, &h) {
		return fmt.Errorf("mem: serve %s: Serve called twice", t.addr)
	}
	return nil
}

// Call sends a copy of req to to.Addr and waits for the response, ctx, or Close. A call
// to an address nobody listens at fails at once with ErrUnreachable, unless a partition
// separates the two; a lost or cut message is silent and the call ends with ctx.
// to.ID is ignored: mem proves no identities.
func (t *Transport) Call(ctx context.Context, to protocol.Contact, req []byte) ([]byte, transports.Peer, error) {
	addr := netip.AddrPortFrom(to.Addr.Addr().Unmap(), to.Addr.Port())
	peer := transports.Peer{Addr: addr}
	if len(req) > protocol.MaxMessageSize {
		return nil, peer, fmt.Errorf("mem: call %s: %w: %d bytes, limit %d", addr, protocol.ErrTooLarge, len(req), protocol.MaxMessageSize)
	}
	if err := protocol.CheckAddr(addr); err != nil {
		return nil, peer, fmt.Errorf("mem: call: %w", err)
	}
	if t.closed() {
		return nil, peer, fmt.Errorf("mem: call %s: %w", addr, transports.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, peer, fmt.Errorf("mem: call %s: %w", addr, err)
	}
	dst, delay, unreachable := t.net.request(t.addr, addr)
	if unreachable {
		return nil, peer, fmt.Errorf("mem: call %s: %w: nobody listens there", addr, transports.ErrUnreachable)
	}
	m := &message{from: t.addr, req: bytes.Clone(req), reply: make(chan reply, 1)}
	if dst != nil {
		if delay == 0 {
			dst.deliver(m, false)
		} else {
			time.AfterFunc(delay, func() { dst.deliver(m, true) })
		}
	}
	select {
	case r := <-m.reply:
		if r.err != nil {
			return nil, peer, fmt.Errorf("mem: call %s: %w", addr, r.err)
		}
		return r.resp, peer, nil
	case <-ctx.Done():
		return nil, peer, fmt.Errorf("mem: call %s: %w", addr, ctx.Err())
	case <-t.done:
		return nil, peer, fmt.Errorf("mem: call %s: %w", addr, transports.ErrClosed)
	}
}

// deliver hands m to the handler, in the calling goroutine if inline (a timer's own
// goroutine), else in a new one. It drops m if no slot is free.
func (t *Transport) deliver(m *message, inline bool) {
	if t.closed() {
		return
	}
	h := t.handler.Load()
	if h == nil {
		t.dropped.Add(1)
		return
	}
	select {
	case t.slots <- struct{}{}:
	default:
		t.dropped.Add(1)
		return
	}
	if t.closed() { // Close began after the check above: give the slot back to it
		<-t.slots
		return
	}
	if inline {
		t.handle(*h, m)
	} else {
		go t.handle(*h, m)
	}
}

// handle runs h on m and sends the response back across the network.
func (t *Transport) handle(h transports.Handler, m *message) {
	defer func() { <-t.slots }()
	resp, err := h(t.ctx, transports.Peer{Addr: m.from}, m.req)
	var r reply
	switch {
	case errors.Is(err, transports.ErrNoReply):
		return
	case err != nil:
		r.err = remoteError(err.Error())
	case len(resp) > protocol.MaxMessageSize:
		r.err = remoteError(fmt.Sprintf("response of %d bytes: %v", len(resp), protocol.ErrTooLarge))
	default:
		r.resp = bytes.Clone(resp)
	}
	if t.closed() {
		return
	}
	delay, ok := t.net.response(t.addr, m.from)
	switch {
	case !ok:
	case delay == 0:
		m.send(r)
	default:
		time.AfterFunc(delay, func() { m.send(r) })
	}
}

// send delivers the response unless one already was; the caller may be gone.
func (m *message) send(r reply) {
	select {
	case m.reply <- r:
	default:
	}
}

// remoteError is what a caller sees of a handler's error: ErrRemote with the text cut
// as the UDP and QUIC transports send it (protocol.ErrorText).
func remoteError(text string) error {
	return fmt.Errorf("%w: %s", transports.ErrRemote, protocol.ErrorText(text))
}

func (t *Transport) closed() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// Close detaches the transport from its network, fails pending calls with ErrClosed,
// cancels the handlers' context and waits for running handlers to return. Calling it
// again does nothing.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.net.detach(t)
		close(t.done)
		t.cancel()
		for range cap(t.slots) {
			t.slots <- struct{}{}
		}
	})
	return nil
}
