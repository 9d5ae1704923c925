package quic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	qgo "github.com/quic-go/quic-go"

	"kad/protocol"
	"kad/transports"
)

// Response status bytes (see the package documentation for the framing).
const (
	statusOK    byte = 0x00
	statusError byte = 0x01
)

// Stream error codes, carried by RESET_STREAM and STOP_SENDING.
const (
	codeCanceled   qgo.StreamErrorCode = 0x1 // the caller gave up
	codeNotServing qgo.StreamErrorCode = 0x2 // the node does not serve requests (yet)
	codeTooLarge   qgo.StreamErrorCode = 0x3 // the message exceeds protocol.MaxMessageSize
)

// Connection close codes, carried by CONNECTION_CLOSE.
const (
	closeNormal  qgo.ApplicationErrorCode = 0x0 // shutdown
	closeEvicted qgo.ApplicationErrorCode = 0x1 // over the connection cap
	closeIdle    qgo.ApplicationErrorCode = 0x2 // unused for its linger (Options.Linger)
)

// requestTimeout bounds how long an incoming request may take to arrive and its response
// to be sent, so a slow peer cannot hold a stream and its goroutine for ever.
const requestTimeout = 10 * time.Second

// frameSize is the largest frame either side reads: a status byte and a message, plus
// one byte to tell "exactly the limit" from "over it".
const frameSize = 1 + protocol.MaxMessageSize + 1

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, frameSize)
	return &b
}}

// readFrame reads s to EOF into buf. It returns errFrameTooLarge when more than
// len(buf)-1 bytes arrive.
func readFrame(s *qgo.Stream, buf []byte) (int, error) {
	n := 0
	for {
		if n == len(buf) {
			return n, errFrameTooLarge
		}
		m, err := s.Read(buf[n:])
		n += m
		if err == io.EOF {
			if n == len(buf) {
				return n, errFrameTooLarge
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

var errFrameTooLarge = errors.New("frame too large")

// writeFrame writes status and body as one write, then closes the send side.
func writeFrame(s *qgo.Stream, status byte, body []byte) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := (*bp)[:1+len(body)]
	buf[0] = status
	copy(buf[1:], body)
	if _, err := s.Write(buf); err != nil {
		return err
	}
	return s.Close()
}

// serveStream answers one incoming request.
func (t *Transport) serveStream(pc *peerConn, s *qgo.Stream) {
	h := t.handler.Load()
	if h == nil {
		s.CancelRead(codeNotServing)
		s.CancelWrite(codeNotServing)
		return
	}
	t.cache.startServing(pc)
	defer t.cache.endServing(pc)
	s.SetReadDeadline(time.Now().Add(requestTimeout))
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := (*bp)[:protocol.MaxMessageSize+1]
	n, err := readFrame(s, buf)
	if errors.Is(err, errFrameTooLarge) {
		s.CancelRead(codeTooLarge)
		s.CancelWrite(codeTooLarge)
		t.log.Debug("request too large", "peer", pc.addr)
		return
	}
	if err != nil {
		s.CancelRead(codeCanceled)
		s.CancelWrite(codeCanceled)
		t.log.Debug("read request", "peer", pc.addr, "err", err)
		return
	}
	resp, herr := (*h)(s.Context(), pc.peer, buf[:n])
	s.SetWriteDeadline(time.Now().Add(requestTimeout))
	switch {
	case errors.Is(herr, transports.ErrNoReply):
		s.CancelWrite(codeCanceled)
		return
	case herr != nil:
		err = writeFrame(s, statusError, []byte(protocol.ErrorText(herr.Error())))
	case len(resp) > protocol.MaxMessageSize:
		t.log.Warn("handler response too large", "peer", pc.addr, "size", len(resp))
		err = writeFrame(s, statusError, fmt.Appendf(nil, "response of %d bytes: %v", len(resp), protocol.ErrTooLarge))
	default:
		err = writeFrame(s, statusOK, resp)
	}
	if err != nil {
		s.CancelWrite(codeCanceled)
		t.log.Debug("write response", "peer", pc.addr, "err", err)
	}
}

// roundTrip sends req on a new stream of pc and reads the response. It reports
// whether a failure came from the connection itself (dead or closing), which the
// caller may retry on a new connection.
func (t *Transport) roundTrip(ctx context.Context, pc *peerConn, req []byte) (resp []byte, connFailed bool, err error) {
	s, err := pc.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, t.streamConnFailed(pc, err), t.streamErr(ctx, err)
	}
	complete := false // the response was read to its end
	defer func() {
		if err != nil && !complete { // let the responder know at once, whatever failed
			s.CancelRead(codeCanceled)
			s.CancelWrite(codeCanceled)
		}
	}()
	if d, ok := ctx.Deadline(); ok {
		s.SetDeadline(d)
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			s.CancelRead(codeCanceled)
			s.CancelWrite(codeCanceled)
		})
		defer stop()
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp

	// Like writeFrame, but a request carries no status byte.
	if _, err := s.Write(req); err != nil {
		return nil, t.streamConnFailed(pc, err), t.streamErr(ctx, err)
	}
	// Close's error is left to the read side. A responder that refuses the stream resets
	// both directions; if its STOP_SENDING lands before this Close, Close fails with a
	// plain error that has lost the code, while readFrame gets the reset with it. A dead
	// connection fails both.
	_ = s.Close()
	n, err := readFrame(s, buf)
	if errors.Is(err, errFrameTooLarge) {
		s.CancelRead(codeTooLarge)
		return nil, false, fmt.Errorf("response: %w", protocol.ErrTooLarge)
	}
	if err != nil {
		return nil, t.streamConnFailed(pc, err), t.streamErr(ctx, err)
	}
	complete = true
	resp, err = parseResponse(buf[:n])
	return resp, false, err
}

// parseResponse reads a response frame (status byte, then body) and returns a copy of
// the response message, or the error the frame reports or is.
func parseResponse(frame []byte) ([]byte, error) {
	if len(frame) == 0 {
		return nil, fmt.Errorf("response: %w: empty stream", protocol.ErrMalformed)
	}
	body := frame[1:]
	switch frame[0] {
	case statusOK:
		if len(body) > protocol.MaxMessageSize {
			return nil, fmt.Errorf("response: %w", protocol.ErrTooLarge)
		}
		out := make([]byte, len(body))
		copy(out, body)
		return out, nil
	case statusError:
		if len(body) > protocol.MaxErrorText || !utf8.Valid(body) {
			return nil, fmt.Errorf("response: %w: bad error text", protocol.ErrMalformed)
		}
		return nil, fmt.Errorf("%w: %s", transports.ErrRemote, body)
	default:
		return nil, fmt.Errorf("response: %w: unknown status 0x%02x", protocol.ErrMalformed, frame[0])
	}
}

// streamConnFailed reports whether err on a stream of pc came from the connection's
// end rather than from the stream or the caller.
func (t *Transport) streamConnFailed(pc *peerConn, err error) bool {
	var se *qgo.StreamError
	if errors.As(err, &se) {
		return false
	}
	return isConnErr(err) || pc.conn.Context().Err() != nil
}

// isConnErr reports whether err says the connection has ended.
func isConnErr(err error) bool {
	var (
		appErr   *qgo.ApplicationError
		trErr    *qgo.TransportError
		idleErr  *qgo.IdleTimeoutError
		resetErr *qgo.StatelessResetError
		hsErr    *qgo.HandshakeTimeoutError
	)
	return errors.As(err, &appErr) || errors.As(err, &trErr) || errors.As(err, &idleErr) ||
		errors.As(err, &resetErr) || errors.As(err, &hsErr)
}

// streamErr maps a stream error to what Call returns: the context's error when the
// caller gave up, transports.ErrUnreachable for a peer not serving, else err.
func (t *Transport) streamErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	var se *qgo.StreamError
	if errors.As(err, &se) && se.Remote {
		switch se.ErrorCode {
		case codeNotServing:
			return fmt.Errorf("%w: peer is not serving requests", transports.ErrUnreachable)
		case codeTooLarge:
			return fmt.Errorf("request: %w", protocol.ErrTooLarge)
		}
	}
	return err
}
