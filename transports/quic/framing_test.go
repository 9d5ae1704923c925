package quic

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	qgo "github.com/quic-go/quic-go"

	"kad/protocol"
	"kad/transports"
)

func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name string
		resp []byte
		want error
	}{
		{"empty stream", []byte{}, protocol.ErrMalformed},
		{"unknown status", []byte{0x07, 'x'}, protocol.ErrMalformed},
		{"error text too long", append([]byte{statusError}, make([]byte, protocol.MaxErrorText+1)...), protocol.ErrMalformed},
		{"error text not UTF-8", []byte{statusError, 0xff, 0xfe}, protocol.ErrMalformed},
		{"response too large", append([]byte{statusOK}, make([]byte, protocol.MaxMessageSize+1)...), protocol.ErrTooLarge},
		{"error", append([]byte{statusError}, "boom"...), transports.ErrRemote},
	}
	cert := validCertificate(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTransport(t, Options{})
			_, _, err := a.Call(testCtx(t), protocol.Contact{Addr: rawServer(t, cert, tt.resp)}, []byte("x"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRefusesOversizeRequest(t *testing.T) {
	b := newTransport(t, Options{})
	var calls atomic.Int32
	serve(t, b, func(ctx context.Context, from transports.Peer, req []byte) ([]byte, error) {
		calls.Add(1)
		return nil, nil
	})
	err := rawCallWith(t, validCertificate(t), b.LocalAddr(), make([]byte, protocol.MaxMessageSize+1))
	var se *qgo.StreamError
	if !errors.As(err, &se) || se.ErrorCode != codeTooLarge {
		t.Errorf("err %v, want a stream reset with code %d", err, codeTooLarge)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("handler ran %d times, want 0", n)
	}
	if err := rawCallWith(t, validCertificate(t), b.LocalAddr(), make([]byte, protocol.MaxMessageSize)); err != nil {
		t.Errorf("request of MaxMessageSize: %v", err)
	}
}
