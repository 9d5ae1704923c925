package udp

import (
	"encoding/binary"
	"sync"

	"kad/protocol"
)

// The datagram framing. Every datagram is a 9-byte header followed by the payload:
//
//	offset  size  field
//	0       1     version (high 4 bits, currently 1) and kind (low 4 bits)
//	1       8     tag, opaque, chosen at random by the caller
//	9       n     payload, 0 ≤ n ≤ protocol.MaxMessageSize
//
// Kinds: 1 request, 2 response, 3 error response. A response or error response carries
// the tag of the request it answers and must come from the address the request was sent
// to; anything else is dropped. An error response's payload is the remote handler's
// error text in UTF-8, at most protocol.MaxErrorText bytes. Datagrams that are shorter
// than the header, longer than header plus protocol.MaxMessageSize, or of another
// version or kind are dropped without a reply.
const (
	version   = 1
	headerLen = 9

	kindRequest  = 1
	kindResponse = 2
	kindError    = 3

	// maxDatagram is the largest datagram kad sends.
	maxDatagram = headerLen + protocol.MaxMessageSize
)

func putHeader(b []byte, kind byte, tag uint64) {
	b[0] = version<<4 | kind
	binary.BigEndian.PutUint64(b[1:headerLen], tag)
}

// parseHeader splits a datagram into kind, tag and payload; ok is false for a datagram
// to drop.
func parseHeader(b []byte) (kind byte, tag uint64, payload []byte, ok bool) {
	if len(b) < headerLen || len(b) > maxDatagram || b[0]>>4 != version {
		return 0, 0, nil, false
	}
	kind = b[0] & 0x0f
	if kind < kindRequest || kind > kindError {
		return 0, 0, nil, false
	}
	return kind, binary.BigEndian.Uint64(b[1:headerLen]), b[headerLen:], true
}

// Buffers come in two sizes: small ones for the common Kademlia message (a NODES reply
// with 20 contacts is under 1 KiB) and ones that hold the largest datagram.
const smallBuf = 2048

var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, smallBuf); return &b }}
	largePool = sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }}
)

// getBuf returns a pooled buffer of length n ≤ maxDatagram.
func getBuf(n int) *[]byte {
	var p *[]byte
	if n <= smallBuf {
		p = smallPool.Get().(*[]byte)
	} else {
		p = largePool.Get().(*[]byte)
	}
	*p = (*p)[:n]
	return p
}

func putBuf(p *[]byte) {
	if cap(*p) == smallBuf {
		smallPool.Put(p)
	} else {
		largePool.Put(p)
	}
}
