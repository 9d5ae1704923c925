package quic

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/identity"
	"kad/protocol"
	"kad/transports"
)

var (
	_ transports.Transport  = (*Transport)(nil)
	_ transports.Identified = (*Transport)(nil)
)

// Transport carries kad requests over QUIC: one UDP socket, one stream per request on
// a cached connection per peer address. It is safe for concurrent use.
type Transport struct {
	opts      Options
	log       *slog.Logger
	pconn     net.PacketConn
	ownConn   bool
	qt        *qgo.Transport
	ln        *qgo.Listener
	qconf     *qgo.Config
	clientTLS *tls.Config
	localAddr netip.AddrPort
	localID   protocol.ID
	alpn      string
	guard     *alpnGuard
	limits    *sourceLimits
	rate      *handshakeRate

	handler atomic.Pointer[transports.Handler]

	ctx       context.Context // ends when Close starts
	cancel    context.CancelFunc
	wg        sync.WaitGroup // every goroutine the transport started
	closed    atomic.Bool
	closeOnce sync.Once

	cache connCache

	dials   atomic.Int64 // handshakes completed as the dialing side
	accepts atomic.Int64 // handshakes completed as the listening side
	// refusedFull counts incoming connections refused because only kept peers'
	// connections could have made room.
	refusedFull atomic.Int64
	// resumed counts handshakes, either side, that resumed a TLS session; lingerClosed
	// the connections closed for staying unused (Options.Linger).
	resumed, lingerClosed atomic.Int64
	// dgDropped counts datagrams dropped: malformed, a response no call waited for, or
	// a request over the per-connection limit or already being answered. dgCalls counts
	// calls answered in a datagram.
	dgDropped, dgCalls atomic.Int64
}

// Listen opens a UDP socket on addr ("127.0.0.1:0" for a random port) and returns a
// Transport on it, which owns the socket and closes it in Close.
func Listen(addr string, key ed25519.PrivateKey, opts Options) (*Transport, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("quic: listen %s: %w", addr, err)
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("quic: listen %s: %w", addr, err)
	}
	t, err := New(c, key, opts)
	if err != nil {
		c.Close()
		return nil, err
	}
	t.ownConn = true
	return t, nil
}

// New returns a Transport that listens and dials on conn, proving the identity of key.
// It accepts connections at once; requests that arrive before Serve are refused. conn
// must not be used by anything else; Close does not close it (Listen's socket excepted).
func New(conn net.PacketConn, key ed25519.PrivateKey, opts Options) (*Transport, error) {
	if conn == nil {
		return nil, errors.New("quic: nil PacketConn")
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("quic: private key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	localAddr, err := addrPortOf(conn.LocalAddr())
	if err != nil {
		return nil, fmt.Errorf("quic: local address: %w", err)
	}
	localID := identity.IDFromKey(key)
	claimed := opts.ClaimedID
	if claimed.IsZero() {
		claimed = localID
	}
	cert, err := newCertificate(key, claimed)
	if err != nil {
		return nil, err
	}
	alpn := alpnFor(opts.Network)
	guard := &alpnGuard{alpn: alpn, log: opts.Logger}
	serverTLS, clientTLS := tlsConfigs(cert, alpn, opts.SessionCache)
	serverTLS.GetConfigForClient = guard.getConfigForClient
	qconf := &qgo.Config{
		HandshakeIdleTimeout:  opts.HandshakeTimeout,
		MaxIdleTimeout:        opts.IdleTimeout,
		MaxIncomingStreams:    int64(opts.MaxStreamsPerConn),
		MaxIncomingUniStreams: -1,
		EnableDatagrams:       !opts.NoDatagrams,
		// A stream carries at most one message: let a whole one in without waiting for
		// a window update, and cap what one connection may buffer.
		InitialStreamReceiveWindow:     128 << 10,
		MaxStreamReceiveWindow:         256 << 10,
		InitialConnectionReceiveWindow: 1 << 20,
		MaxConnectionReceiveWindow:     16 << 20,
	}
	resetKey := qgo.StatelessResetKey(statelessResetKey(key))
	limits := newSourceLimits(opts)
	rate := &handshakeRate{above: opts.RetryAbove, now: time.Now}
	qt := &qgo.Transport{
		Conn:                conn,
		StatelessResetKey:   &resetKey,
		ConnContext:         limits.connContext,
		VerifySourceAddress: verifySourceAddress(rate, limits),
	}
	ln, err := qt.Listen(serverTLS, qconf)
	if err != nil {
		qt.Close()
		return nil, fmt.Errorf("quic: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		opts:      opts,
		log:       opts.Logger,
		pconn:     conn,
		qt:        qt,
		ln:        ln,
		qconf:     qconf,
		clientTLS: clientTLS,
		localAddr: localAddr,
		localID:   localID,
		alpn:      alpn,
		guard:     guard,
		limits:    limits,
		rate:      rate,
		ctx:       ctx,
		cancel:    cancel,
	}
	t.cache.init(opts.Keep)
	t.goFunc(t.acceptLoop)
	if opts.Linger > 0 {
		t.goFunc(t.lingerLoop)
	}
	return t, nil
}

// goFunc runs f in a goroutine that Close waits for. Callers either run in such a
// goroutine or hold cache.mu and have checked that the transport is not closed.
func (t *Transport) goFunc(f func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
}

// Serve starts delivering incoming requests to h. It does not block and may be called
// once.
func (t *Transport) Serve(h transports.Handler) error {
	if h == nil {
		return errors.New("quic: Serve with a nil handler")
	}
	if t.closed.Load() {
		return fmt.Errorf("quic: serve: %w", transports.ErrClosed)
	}
	if !t.handler.CompareAndSwap(nil, &h) {
		return errors.New("quic: Serve called twice")
	}
	return nil
}

// LocalAddr returns the address of the socket, which peers see as this node's address
// both when it listens and when it dials.
func (t *Transport) LocalAddr() netip.AddrPort { return t.localAddr }

// LocalID returns the ID the transport's key proves: SHA-256(public key)[:20]. With
// Options.ClaimedID set to another ID, that one is announced but not proven.
func (t *Transport) LocalID() protocol.ID { return t.localID }

// Stats counts what the transport did since it started.
type Stats struct {
	Dials   int64 // handshakes completed as the dialing side
	Accepts int64 // handshakes completed as the listening side
	Conns   int   // connections open now
	// WrongNetwork counts handshakes refused as the listening side because the client
	// did not offer this network's ALPN: nodes of another network (Options.Network).
	WrongNetwork int64
	// Incoming connections refused before their handshake because their source held
	// as many connections as Options.MaxConnsPerIP or MaxConnsPerSubnet allow, or as
	// many handshakes in progress as MaxHandshakesPerIP or MaxHandshakesPerSubnet
	// allow. The client sees CONNECTION_REFUSED. Each refused Initial packet counts, so
	// an attempt whose ClientHello spans two packets, or that is resent, counts again.
	RefusedConnsPerIP, RefusedConnsPerSubnet           int64
	RefusedHandshakesPerIP, RefusedHandshakesPerSubnet int64
	// RefusedFull counts incoming connections closed after their handshake because the
	// transport held Options.MaxConns connections and only kept peers' (Options.Keep)
	// could have made room.
	RefusedFull int64
	// Retries counts incoming handshakes asked to prove their source address with a
	// Retry first, because new handshakes arrived faster than Options.RetryAbove or
	// their source was at one of its limits.
	Retries int64
	// Resumed counts the handshakes of Dials and Accepts that resumed a TLS session
	// instead of exchanging certificates and signatures.
	Resumed int64
	// LingerClosed counts the connections this node closed for staying unused longer
	// than their linger (Options.Linger).
	LingerClosed int64
	// DatagramsDropped counts the datagrams dropped on arrival: malformed ones,
	// responses no call waited for (late, or sent again), and requests beyond
	// Options.MaxStreamsPerConn in progress or already being answered.
	DatagramsDropped int64
	// DatagramCalls counts the calls of this node answered in a datagram rather than
	// on a stream.
	DatagramCalls int64
}

// Stats returns the transport's counters. It is safe for concurrent use.
func (t *Transport) Stats() Stats {
	return Stats{Dials: t.dials.Load(), Accepts: t.accepts.Load(), Conns: t.cache.len(),
		WrongNetwork:               t.guard.refused.Load(),
		RefusedConnsPerIP:          t.limits.refusedConnsIP.Load(),
		RefusedConnsPerSubnet:      t.limits.refusedConnsSubnet.Load(),
		RefusedHandshakesPerIP:     t.limits.refusedHandshakesIP.Load(),
		RefusedHandshakesPerSubnet: t.limits.refusedHandshakesSubnet.Load(),
		RefusedFull:                t.refusedFull.Load(),
		Retries:                    t.rate.retries.Load(),
		Resumed:                    t.resumed.Load(),
		LingerClosed:               t.lingerClosed.Load(),
		DatagramsDropped:           t.dgDropped.Load(),
		DatagramCalls:              t.dgCalls.Load(),
	}
}

// Call sends req to the node at to.Addr on a new stream of the connection to it,
// dialing one if there is none, and returns the response. A connection found dead is
// redialed once. If to.ID is not zero it must be the ID the peer goes by (see the
// package documentation), or the call fails with transports.ErrIDMismatch before req
// is sent.
func (t *Transport) Call(ctx context.Context, to protocol.Contact, req []byte) ([]byte, transports.Peer, error) {
	addr := netip.AddrPortFrom(to.Addr.Addr().Unmap(), to.Addr.Port())
	peer := transports.Peer{Addr: addr}
	if len(req) > protocol.MaxMessageSize {
		return nil, peer, fmt.Errorf("quic: call %s: request of %d bytes: %w", addr, len(req), protocol.ErrTooLarge)
	}
	if err := protocol.CheckAddr(addr); err != nil {
		return nil, peer, fmt.Errorf("quic: call: %w", err)
	}
	if t.closed.Load() {
		return nil, peer, fmt.Errorf("quic: call %s: %w", addr, transports.ErrClosed)
	}
	for attempt := 0; ; attempt++ {
		pc, fresh, err := t.conn(ctx, addr)
		if err != nil {
			return nil, peer, t.callErr(addr, err)
		}
		p, err := pc.match(to.ID)
		if err != nil {
			t.cache.release(pc)
			return nil, peer, t.callErr(addr, err)
		}
		var (
			resp       []byte
			connFailed bool
		)
		err = errUseStream
		if pc.dg != nil {
			resp, connFailed, err = t.dgRoundTrip(ctx, pc, req)
		}
		if errors.Is(err, errUseStream) {
			resp, connFailed, err = t.roundTrip(ctx, pc, req)
		}
		t.cache.release(pc)
		if err == nil {
			return resp, p, nil
		}
		if connFailed && !fresh && attempt == 0 && ctx.Err() == nil && !t.closed.Load() {
			t.log.Debug("connection lost, redialing", "addr", addr, "err", err)
			t.cache.forget(pc)
			continue
		}
		return nil, p, t.callErr(addr, err)
	}
}

func (t *Transport) callErr(addr netip.AddrPort, err error) error {
	if t.closed.Load() && !errors.Is(err, transports.ErrClosed) {
		err = transports.ErrClosed
	}
	return fmt.Errorf("quic: call %s: %w", addr, err)
}

// Close closes every connection, the listener and the QUIC transport (and the socket
// if Listen opened it), fails pending calls with transports.ErrClosed, and waits for
// the transport's goroutines to end.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		conns := t.shutdownConns()
		t.cancel()
		t.ln.Close()
		var wg sync.WaitGroup
		for _, pc := range conns {
			wg.Go(func() { pc.conn.CloseWithError(closeNormal, "closing") })
		}
		wg.Wait()
		err = t.qt.Close()
		t.wg.Wait()
		if t.ownConn {
			err = errors.Join(err, t.pconn.Close())
		}
	})
	return err
}

func addrPortOf(a net.Addr) (netip.AddrPort, error) {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return ap, err
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
