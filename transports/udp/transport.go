package udp

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"kad/protocol"
	"kad/transports"
)

var _ transports.Transport = (*Transport)(nil)

// Options configures a Transport. Zero values mean the defaults.
type Options struct {
	// Logger receives the transport's logs; nil discards them.
	Logger *slog.Logger
	// Workers is the most goroutines that run the handler at once; zero means
	// DefaultWorkers. They start as requests arrive and end after WorkerIdle without
	// one, so an idle transport holds only its reader goroutine.
	Workers int
	// WorkerIdle is how long a worker waits for a request before it ends; zero means
	// DefaultWorkerIdle.
	WorkerIdle time.Duration
	// QueueLen is how many received requests may wait for a worker; a request that
	// finds the queue full is dropped and counted. Zero means DefaultQueueLen.
	QueueLen int
	// Network names the network the transport belongs to; empty means the public
	// network. Every datagram carries its mark (wire.go), and datagrams of another
	// network are dropped unanswered and counted in Stats.WrongNetwork. The name must
	// pass transports.CheckNetwork.
	Network string
}

// Defaults for Options.
const (
	DefaultWorkers    = 16
	DefaultQueueLen   = 256
	DefaultWorkerIdle = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.WorkerIdle <= 0 {
		o.WorkerIdle = DefaultWorkerIdle
	}
	if o.QueueLen == 0 {
		o.QueueLen = DefaultQueueLen
	}
	return o
}

func (o Options) validate() error {
	if o.Workers < 0 || o.QueueLen < 0 {
		return fmt.Errorf("udp: negative Workers %d or QueueLen %d", o.Workers, o.QueueLen)
	}
	if err := transports.CheckNetwork(o.Network); err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	return nil
}

// Stats counts datagrams a Transport did not deliver.
type Stats struct {
	// Dropped counts requests dropped because the transport was not serving yet or its
	// queue was full.
	Dropped uint64
	// Malformed counts datagrams dropped for their framing: too short, too long, or of
	// an unknown version or kind.
	Malformed uint64
	// WrongNetwork counts well-framed datagrams of another network (Options.Network),
	// dropped without a reply.
	WrongNetwork uint64
	// Unmatched counts responses dropped because no call was waiting for their tag from
	// the address they came from: late, duplicated or forged.
	Unmatched uint64
	// ReadErrors counts failed reads from the socket, other than its closing.
	ReadErrors uint64
	// Workers is how many handler goroutines are alive now.
	Workers int
}

// Transport carries kad requests and responses in UDP datagrams over one socket, which
// serves both incoming requests and outgoing calls.
type Transport struct {
	conn    *net.UDPConn
	addr    netip.AddrPort
	log     *slog.Logger
	frame   framing // this network's header
	workers int
	idleFor time.Duration

	// running counts live workers, idle those waiting for a request. The reader starts
	// a worker when it queues a request and none is idle (see startWorker).
	running, idle atomic.Int32

	ctx    context.Context // given to handlers; canceled by Close
	cancel context.CancelFunc
	queue  chan job // requests waiting for a worker; closed when the reader ends
	wg     sync.WaitGroup

	handler atomic.Pointer[transports.Handler]

	mu      sync.Mutex       // guards the fields below
	pending map[uint64]*call // calls waiting for a response, by tag; nil once closed
	rng     *rand.ChaCha8    // draws tags, so that an off-path sender cannot guess them
	serving bool

	closeOnce sync.Once
	closeErr  error

	dropped, malformed, wrongNetwork, unmatched, readErrors atomic.Uint64
}

// call is a pending Call. Whoever removes it from pending (the reader, Close, or the
// caller giving up) is the only one to send on ch, so ch never holds more than one value.
type call struct {
	to netip.AddrPort
	ch chan result // buffered 1
}

type result struct {
	resp []byte
	err  error
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan result, 1)} }}

// job is a received request waiting for a worker.
type job struct {
	from netip.AddrPort
	tag  uint64
	req  *[]byte // pooled; the worker returns it
}

// New returns a transport on conn, which it owns from then on and closes in Close. It
// starts reading at once, so that calls work before (and without) Serve.
func New(conn *net.UDPConn, opts Options) (*Transport, error) {
	if conn == nil {
		return nil, errors.New("udp: nil connection")
	}
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	local, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("udp: local address %v is not a UDP address", conn.LocalAddr())
	}
	var seed [32]byte
	crand.Read(seed[:])
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		conn:    conn,
		addr:    unmap(local.AddrPort()),
		log:     opts.Logger,
		frame:   framingFor(opts.Network),
		workers: opts.Workers,
		idleFor: opts.WorkerIdle,
		ctx:     ctx,
		cancel:  cancel,
		queue:   make(chan job, opts.QueueLen),
		pending: make(map[uint64]*call),
		rng:     rand.NewChaCha8(seed),
	}
	t.wg.Add(1)
	go t.read()
	return t, nil
}

// Listen opens a UDP socket at addr ("127.0.0.1:0", ":4000", "[::1]:4000") and returns a
// transport on it.
func Listen(addr string, opts Options) (*Transport, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udp: listen %s: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("udp: listen %s: %w", addr, err)
	}
	t, err := New(conn, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return t, nil
}

// LocalAddr returns the address the socket is bound to.
func (t *Transport) LocalAddr() netip.AddrPort { return t.addr }

// Stats returns the transport's counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Dropped:      t.dropped.Load(),
		Malformed:    t.malformed.Load(),
		WrongNetwork: t.wrongNetwork.Load(),
		Unmatched:    t.unmatched.Load(),
		ReadErrors:   t.readErrors.Load(),
		Workers:      int(t.running.Load()),
	}
}

// Serve starts the workers that run h on incoming requests. It does not block and may be
// called once.
func (t *Transport) Serve(h transports.Handler) error {
	if h == nil {
		return errors.New("udp: Serve with a nil handler")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.pending == nil:
		return fmt.Errorf("udp: serve %s: %w", t.addr, transports.ErrClosed)
	case t.serving:
		return fmt.Errorf("udp: serve %s: Serve called twice", t.addr)
	}
	t.serving = true
	t.handler.Store(&h)
	return nil
}

// Call sends req to to.Addr in one datagram and waits for the response with the same tag
// from that address, for ctx to end, or for Close. It never resends: a lost datagram
// shows as the end of ctx. to.ID is ignored: UDP proves no identities.
func (t *Transport) Call(ctx context.Context, to protocol.Contact, req []byte) ([]byte, transports.Peer, error) {
	addr := unmap(to.Addr)
	peer := transports.Peer{Addr: addr}
	if len(req) > protocol.MaxMessageSize {
		return nil, peer, fmt.Errorf("udp: call %s: %w: %d bytes, limit %d", addr, protocol.ErrTooLarge, len(req), protocol.MaxMessageSize)
	}
	if err := protocol.CheckAddr(addr); err != nil {
		return nil, peer, fmt.Errorf("udp: call: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, peer, fmt.Errorf("udp: call %s: %w", addr, err)
	}

	c := callPool.Get().(*call)
	c.to = addr
	t.mu.Lock()
	if t.pending == nil {
		t.mu.Unlock()
		callPool.Put(c)
		return nil, peer, fmt.Errorf("udp: call %s: %w", addr, transports.ErrClosed)
	}
	tag := t.rng.Uint64()
	for t.pending[tag] != nil {
		tag = t.rng.Uint64()
	}
	t.pending[tag] = c
	t.mu.Unlock()

	hlen := t.frame.len()
	b := getBuf(hlen + len(req))
	t.frame.put(*b, kindRequest, tag)
	copy((*b)[hlen:], req)
	_, err := t.conn.WriteToUDPAddrPort(*b, addr)
	putBuf(b)
	if err != nil {
		t.abandon(tag, c)
		if t.ctx.Err() != nil {
			return nil, peer, fmt.Errorf("udp: call %s: %w", addr, transports.ErrClosed)
		}
		return nil, peer, fmt.Errorf("udp: call %s: %w", addr, err)
	}

	select {
	case r := <-c.ch:
		callPool.Put(c)
		if r.err != nil {
			return nil, peer, fmt.Errorf("udp: call %s: %w", addr, r.err)
		}
		return r.resp, peer, nil
	case <-ctx.Done():
		t.abandon(tag, c)
		return nil, peer, fmt.Errorf("udp: call %s: %w", addr, ctx.Err())
	}
}

// abandon forgets a call its caller gives up on and recycles it.
func (t *Transport) abandon(tag uint64, c *call) {
	t.mu.Lock()
	mine := t.pending[tag] == c
	if mine {
		delete(t.pending, tag)
	}
	t.mu.Unlock()
	if !mine {
		// The reader or Close took it and is sending its one result right now.
		<-c.ch
	}
	callPool.Put(c)
}

// read receives datagrams until the socket closes.
func (t *Transport) read() {
	defer t.wg.Done()
	defer close(t.queue)
	buf := make([]byte, 1<<16) // larger than any UDP payload, so nothing is cut short
	var backoff time.Duration
	for {
		n, from, err := t.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			t.readErrors.Add(1)
			t.log.Warn("udp: read failed", "addr", t.addr, "err", err)
			// Back off on repeated errors rather than spin on a broken socket.
			if backoff > 0 && !t.sleep(backoff) {
				return
			}
			backoff = min(max(2*backoff, time.Millisecond), 100*time.Millisecond)
			continue
		}
		backoff = 0
		t.dispatch(buf[:n], unmap(from))
	}
}

// sleep waits for d or for Close, and reports whether the transport is still open.
func (t *Transport) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// dispatch handles one datagram; b is the reader's buffer and is reused afterwards.
func (t *Transport) dispatch(b []byte, from netip.AddrPort) {
	h, payload, ok := parseHeader(b)
	if !ok {
		t.malformed.Add(1)
		t.log.Debug("udp: malformed datagram dropped", "peer", from, "len", len(b))
		return
	}
	if !t.frame.accepts(h) {
		// Neither answered nor seen by the node, so a node of another network cannot
		// join this one through it, nor use it to amplify.
		t.wrongNetwork.Add(1)
		t.log.Debug("udp: datagram of another network dropped", "peer", from, "len", len(b))
		return
	}
	kind, tag := h.kind, h.tag
	if kind == kindRequest {
		if t.handler.Load() == nil {
			t.dropped.Add(1)
			return
		}
		req := getBuf(len(payload))
		copy(*req, payload)
		select {
		case t.queue <- job{from: from, tag: tag, req: req}:
			if t.idle.Load() == 0 {
				t.startWorker()
			}
		default:
			putBuf(req)
			t.dropped.Add(1)
			t.log.Debug("udp: request queue full, request dropped", "peer", from)
		}
		return
	}

	t.mu.Lock()
	c := t.pending[tag]
	if c == nil || c.to != from {
		t.mu.Unlock()
		t.unmatched.Add(1)
		t.log.Debug("udp: unmatched response dropped", "peer", from)
		return
	}
	delete(t.pending, tag)
	t.mu.Unlock()
	if kind == kindResponse {
		c.ch <- result{resp: bytes.Clone(payload)}
		return
	}
	// Whatever the responder sent, the caller sees a text within the limit.
	c.ch <- result{err: fmt.Errorf("%w: %s", transports.ErrRemote, protocol.ErrorText(string(payload)))}
}

// startWorker starts a worker unless Workers are running. Only the reader calls it,
// while it holds its own count in t.wg, so the Add cannot race Close's Wait.
func (t *Transport) startWorker() {
	for {
		n := t.running.Load()
		if int(n) >= t.workers {
			return
		}
		if t.running.CompareAndSwap(n, n+1) {
			break
		}
	}
	t.wg.Add(1)
	go t.work()
}

// work runs the handler on queued requests until the reader closes the queue, or until
// none came for idleFor.
//
// A worker that gives up idling re-checks the queue after leaving the idle count: the
// reader queues a request before it reads the idle count, so either the reader saw this
// worker leave and starts another, or this worker sees the request.
func (t *Transport) work() {
	defer t.wg.Done()
	h := *t.handler.Load()
	timer := time.NewTimer(t.idleFor)
	defer timer.Stop()
	for {
		t.idle.Add(1)
		select {
		case j, ok := <-t.queue:
			t.idle.Add(-1)
			if !ok {
				t.running.Add(-1)
				return
			}
			if t.ctx.Err() == nil {
				t.answer(h, j)
			}
			putBuf(j.req)
			timer.Reset(t.idleFor)
		case <-timer.C:
			t.idle.Add(-1)
			t.running.Add(-1)
			if len(t.queue) == 0 {
				return
			}
			// A request slipped in: stay, if the cap allows.
			if n := t.running.Add(1); int(n) > t.workers {
				t.running.Add(-1)
				return
			}
			timer.Reset(t.idleFor)
		}
	}
}

// answer runs h on one request and sends its response. The request buffer goes back to
// the pool only after the send, since h may return it as its response.
func (t *Transport) answer(h transports.Handler, j job) {
	resp, err := h(t.ctx, transports.Peer{Addr: j.from}, *j.req)
	kind, text := byte(kindResponse), ""
	switch {
	case errors.Is(err, transports.ErrNoReply):
		return // the node counts what it did not answer
	case err != nil:
		kind, text = kindError, protocol.ErrorText(err.Error())
	case len(resp) > protocol.MaxMessageSize:
		t.log.Warn("udp: handler's response too large", "peer", j.from, "len", len(resp))
		kind, text = kindError, fmt.Sprintf("response of %d bytes: %v", len(resp), protocol.ErrTooLarge)
	}
	hlen := t.frame.len()
	var b *[]byte
	if kind == kindResponse {
		b = getBuf(hlen + len(resp))
		copy((*b)[hlen:], resp)
	} else {
		b = getBuf(hlen + len(text))
		copy((*b)[hlen:], text)
	}
	t.frame.put(*b, kind, j.tag)
	_, err = t.conn.WriteToUDPAddrPort(*b, j.from)
	putBuf(b)
	if err != nil && t.ctx.Err() == nil {
		t.log.Debug("udp: send response failed", "peer", j.from, "err", err)
	}
}

// Close closes the socket, fails pending calls with ErrClosed, cancels the handlers'
// context and waits for the transport's goroutines, including running handlers, to
// end. Calling it again returns the first call's result.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		pending := t.pending
		t.pending = nil
		t.mu.Unlock()
		for _, c := range pending {
			c.ch <- result{err: transports.ErrClosed}
		}
		t.cancel()
		if err := t.conn.Close(); err != nil {
			t.closeErr = fmt.Errorf("udp: close %s: %w", t.addr, err)
		}
		t.wg.Wait()
	})
	return t.closeErr
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
