package quic

import (
	"bytes"
	"errors"
	"testing"

	"kad/protocol"
	"kad/transports"
)

// FuzzParseResponse feeds arbitrary response frames to the parser: it must not panic,
// must fail with one of the three documented errors, and must return exactly the body of
// an OK frame, copied.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{statusOK})
	f.Add(append([]byte{statusOK}, "message"...))
	f.Add(append([]byte{statusError}, "boom"...))
	f.Add([]byte{statusError, 0xff})
	f.Add([]byte{0x07, 'x'})
	f.Fuzz(func(t *testing.T, frame []byte) {
		resp, err := parseResponse(frame)
		if err != nil {
			if resp != nil {
				t.Fatal("both a response and an error")
			}
			if !errors.Is(err, protocol.ErrMalformed) && !errors.Is(err, protocol.ErrTooLarge) && !errors.Is(err, transports.ErrRemote) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if frame[0] != statusOK || !bytes.Equal(resp, frame[1:]) {
			t.Fatalf("frame %x parsed as %x", frame, resp)
		}
		if len(resp) > 0 && &resp[0] == &frame[1] {
			t.Fatal("response aliases the frame buffer")
		}
	})
}
