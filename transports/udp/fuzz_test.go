package udp

import (
	"bytes"
	"testing"
)

// FuzzParseHeader feeds arbitrary datagrams to the header parser: it must not panic, must
// accept only version 1 with a known kind and a length within bounds, and what it accepts
// must frame back to the same bytes.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{})
	f.Add(frame(kindRequest, 1, "ping"))
	f.Add(frame(kindResponse, 1<<63, ""))
	f.Add(frame(kindError, 42, "boom"))
	f.Add([]byte{0x14, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, tag, payload, ok := parseHeader(b)
		valid := len(b) >= headerLen && len(b) <= maxDatagram && b[0]>>4 == version &&
			b[0]&0x0f >= kindRequest && b[0]&0x0f <= kindError
		if ok != valid {
			t.Fatalf("parseHeader(%x) ok = %v, want %v", b, ok, valid)
		}
		if !ok {
			return
		}
		if again := frame(kind, tag, string(payload)); !bytes.Equal(again, b) {
			t.Fatalf("parsed %x, framed back as %x", b, again)
		}
	})
}
