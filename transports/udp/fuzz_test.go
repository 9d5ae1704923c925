package udp

import (
	"bytes"
	"testing"

	"kad/protocol"
)

// FuzzParseHeader feeds arbitrary datagrams to the header parser: it must not panic, must
// accept only version 1 or 2 with a known kind and a length within that version's
// bounds, and what it accepts must frame back to the same bytes.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{})
	f.Add(frame(kindRequest, 1, "ping"))
	f.Add(frame(kindResponse, 1<<63, ""))
	f.Add(frame(kindError, 42, "boom"))
	f.Add(framingFor("alpha").frame(kindRequest, 7, "ping"))
	f.Add(framingFor("beta").frame(kindError, 8, ""))
	f.Add([]byte{0x14, 1, 2, 3})
	f.Add([]byte{0x21, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, ok := parseHeader(b)
		valid := false
		if len(b) > 0 {
			n := map[byte]int{versionPublic: headerLen, versionNamed: headerLenNamed}[b[0]>>4]
			kind := b[0] & 0x0f
			valid = n > 0 && len(b) >= n && len(b) <= n+protocol.MaxMessageSize && kind >= kindRequest && kind <= kindError
		}
		if ok != valid {
			t.Fatalf("parseHeader(%x) ok = %v, want %v", b, ok, valid)
		}
		if !ok {
			return
		}
		fr := framing{named: h.named, net: h.net}
		if !fr.accepts(h) {
			t.Fatalf("header %+v refused by its own framing", h)
		}
		if again := fr.frame(h.kind, h.tag, string(payload)); !bytes.Equal(again, b) {
			t.Fatalf("parsed %x, framed back as %x", b, again)
		}
	})
}
