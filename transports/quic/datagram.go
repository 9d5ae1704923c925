package quic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	qgo "github.com/quic-go/quic-go"

	"kad/protocol"
	"kad/transports"
)

// Requests in QUIC DATAGRAM frames (RFC 9221). A request and its response that each fit
// in one packet go as datagrams on the connection rather than on a stream of their own:
// no stream state, no goroutine per request, one packet each way. The package
// documentation gives the format.

// Datagram kinds, the first byte of a datagram's payload.
const (
	dgRequest    byte = 0x00 // body: the request message
	dgOK         byte = 0x01 // body: the response message
	dgError      byte = 0x02 // body: the handler's error text
	dgUseStream  byte = 0x03 // no body: the response does not fit, ask on a stream
	dgNotServing byte = 0x04 // no body: the node does not serve requests (yet)
)

// dgHeader is the kind byte and the 4-byte request ID.
const dgHeader = 5

// dgResends is how many times a caller sends a request datagram again when no response
// came within the connection's retransmission timeout: QUIC does not retransmit
// datagrams, and a lost one would otherwise cost the whole call.
const dgResends = 2

// minResend is the shortest wait before a request datagram is sent again.
const minResend = 20 * time.Millisecond

// dgReply is a response datagram, delivered to the call that waits on its ID.
type dgReply struct {
	kind byte
	body []byte
}

// dgConn is the datagram side of one connection: the calls waiting for a response and
// the requests being answered.
type dgConn struct {
	mu      sync.Mutex
	next    uint32
	pending map[uint32]chan dgReply
	serving map[uint32]struct{} // request IDs being answered, to drop resent copies
}

func newDgConn() *dgConn {
	return &dgConn{pending: make(map[uint32]chan dgReply), serving: make(map[uint32]struct{})}
}

// register returns a new request ID and the channel its response arrives on.
func (d *dgConn) register() (uint32, chan dgReply) {
	ch := make(chan dgReply, 1)
	d.mu.Lock()
	d.next++
	for d.pending[d.next] != nil { // after 2^32 calls, skip IDs still waiting
		d.next++
	}
	id := d.next
	d.pending[id] = ch
	d.mu.Unlock()
	return id, ch
}

func (d *dgConn) unregister(id uint32) {
	d.mu.Lock()
	delete(d.pending, id)
	d.mu.Unlock()
}

// deliver hands a response to the call waiting on id; one that no call waits for (late,
// resent, or forged by the peer) is dropped. It reports whether a call took it.
func (d *dgConn) deliver(id uint32, r dgReply) bool {
	d.mu.Lock()
	ch := d.pending[id]
	delete(d.pending, id)
	d.mu.Unlock()
	if ch == nil {
		return false
	}
	ch <- r // buffered, and each ID is delivered at most once
	return true
}

// startServing records that request id is being answered; it reports false for a copy
// of one already being answered, or when max are.
func (d *dgConn) startServing(id uint32, max int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.serving[id]; dup || len(d.serving) >= max {
		return false
	}
	d.serving[id] = struct{}{}
	return true
}

func (d *dgConn) endServing(id uint32) {
	d.mu.Lock()
	delete(d.serving, id)
	d.mu.Unlock()
}

// dgPayload returns kind, id and body as one datagram payload.
func dgPayload(kind byte, id uint32, body []byte) []byte {
	b := make([]byte, dgHeader+len(body))
	b[0] = kind
	binary.BigEndian.PutUint32(b[1:dgHeader], id)
	copy(b[dgHeader:], body)
	return b
}

// errUseStream says that a call must go on a stream: the request does not fit in a
// datagram, or the responder said its response does not.
var errUseStream = errors.New("use a stream")

// dgRoundTrip sends req in a datagram of pc and waits for the response, sending the
// request again after the connection's retransmission timeout, at most dgResends
// times. It returns errUseStream when the call must go on a stream instead, and
// reports whether a failure came from the connection.
func (t *Transport) dgRoundTrip(ctx context.Context, pc *peerConn, req []byte) (resp []byte, connFailed bool, err error) {
	id, ch := pc.dg.register()
	defer pc.dg.unregister(id)
	payload := dgPayload(dgRequest, id, req)
	if err := pc.conn.SendDatagram(payload); err != nil {
		var tooLarge *qgo.DatagramTooLargeError
		if errors.As(err, &tooLarge) {
			return nil, false, errUseStream
		}
		return nil, true, err
	}
	st := pc.conn.ConnectionStats()
	resend := time.NewTimer(max(st.SmoothedRTT+4*st.MeanDeviation, minResend))
	defer resend.Stop()
	for sent := 1; ; {
		select {
		case r := <-ch:
			if r.kind == dgOK || r.kind == dgError {
				t.dgCalls.Add(1)
			}
			return dgResponse(r)
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-pc.conn.Context().Done():
			return nil, true, context.Cause(pc.conn.Context())
		case <-resend.C:
			if sent > dgResends {
				continue // wait for the response or the caller's deadline
			}
			sent++
			if err := pc.conn.SendDatagram(payload); err != nil {
				return nil, true, err
			}
			st := pc.conn.ConnectionStats()
			resend.Reset(max(st.SmoothedRTT+4*st.MeanDeviation, minResend) << (sent - 1))
		}
	}
}

// dgResponse reads a response datagram as roundTrip reads a response frame.
func dgResponse(r dgReply) ([]byte, bool, error) {
	switch r.kind {
	case dgOK:
		return r.body, false, nil
	case dgError:
		if len(r.body) > protocol.MaxErrorText || !utf8.Valid(r.body) {
			return nil, false, fmt.Errorf("response: %w: bad error text", protocol.ErrMalformed)
		}
		return nil, false, fmt.Errorf("%w: %s", transports.ErrRemote, r.body)
	case dgUseStream:
		return nil, false, errUseStream
	default: // dgNotServing
		return nil, false, fmt.Errorf("%w: peer is not serving requests", transports.ErrUnreachable)
	}
}

// serveDatagrams reads the datagrams of pc until it closes: requests go to the handler,
// each in its own goroutine, responses to the calls waiting on them. Malformed
// datagrams, and responses no call waits for, are dropped and counted.
func (t *Transport) serveDatagrams(pc *peerConn) {
	for {
		b, err := pc.conn.ReceiveDatagram(t.ctx)
		if err != nil {
			return
		}
		if len(b) < dgHeader || len(b) > dgHeader+protocol.MaxMessageSize {
			t.dgDropped.Add(1)
			continue
		}
		kind, id, body := b[0], binary.BigEndian.Uint32(b[1:dgHeader]), b[dgHeader:]
		switch kind {
		case dgRequest:
			if !pc.dg.startServing(id, t.opts.MaxStreamsPerConn) {
				t.dgDropped.Add(1)
				continue
			}
			t.cache.startServing(pc)
			t.goFunc(func() {
				defer t.cache.endServing(pc)
				defer pc.dg.endServing(id)
				t.answerDatagram(pc, id, body)
			})
		case dgOK, dgError, dgUseStream, dgNotServing:
			if (kind == dgUseStream || kind == dgNotServing) && len(body) > 0 || !pc.dg.deliver(id, dgReply{kind, body}) {
				t.dgDropped.Add(1)
			}
		default:
			t.dgDropped.Add(1)
		}
	}
}

// answerDatagram runs the handler on a request datagram and sends its response.
func (t *Transport) answerDatagram(pc *peerConn, id uint32, req []byte) {
	h := t.handler.Load()
	if h == nil {
		pc.conn.SendDatagram(dgPayload(dgNotServing, id, nil))
		return
	}
	ctx, cancel := context.WithTimeout(t.ctx, requestTimeout)
	defer cancel()
	resp, herr := (*h)(ctx, pc.peer, req)
	var out []byte
	switch {
	case errors.Is(herr, transports.ErrNoReply):
		return
	case herr != nil:
		out = dgPayload(dgError, id, []byte(protocol.ErrorText(herr.Error())))
	case len(resp) > protocol.MaxMessageSize:
		t.log.Warn("handler response too large", "peer", pc.addr, "size", len(resp))
		out = dgPayload(dgError, id, fmt.Appendf(nil, "response of %d bytes: %v", len(resp), protocol.ErrTooLarge))
	default:
		out = dgPayload(dgOK, id, resp)
	}
	err := pc.conn.SendDatagram(out)
	var tooLarge *qgo.DatagramTooLargeError
	if errors.As(err, &tooLarge) {
		err = pc.conn.SendDatagram(dgPayload(dgUseStream, id, nil))
	}
	if err != nil {
		t.log.Debug("write datagram response", "peer", pc.addr, "err", err)
	}
}
