package udp

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"

	"kad/protocol"
)

// The datagram framing. Every datagram is a header followed by the payload. On the
// public network the header is 9 bytes, version 1:
//
//	offset  size  field
//	0       1     version (high 4 bits, 1) and kind (low 4 bits)
//	1       8     tag, opaque, chosen at random by the caller
//	9       n     payload, 0 ≤ n ≤ protocol.MaxMessageSize
//
// On a named network it is 13 bytes, version 2, the network tag after the tag:
//
//	offset  size  field
//	0       1     version (high 4 bits, 2) and kind (low 4 bits)
//	1       8     tag, opaque, chosen at random by the caller
//	9       4     network tag: the first 4 bytes of SHA-256("kad network " + name)
//	13      n     payload, 0 ≤ n ≤ protocol.MaxMessageSize
//
// Kinds: 1 request, 2 response, 3 error response. A response or error response carries
// the tag of the request it answers and must come from the address the request was sent
// to; anything else is dropped. An error response's payload is the remote handler's
// error text in UTF-8, at most protocol.MaxErrorText bytes. Datagrams that are shorter
// than their header, longer than header plus protocol.MaxMessageSize, or of another
// version or kind are malformed, and datagrams of another network (another version, or
// version 2 with another network tag) are of the wrong network: both are dropped
// without a reply.
const (
	versionPublic = 1
	versionNamed  = 2

	headerLen      = 9
	headerLenNamed = headerLen + networkTagLen
	networkTagLen  = 4

	kindRequest  = 1
	kindResponse = 2
	kindError    = 3

	// maxDatagram is the largest datagram kad sends.
	maxDatagram = headerLenNamed + protocol.MaxMessageSize
)

// header is what a datagram's header says.
type header struct {
	kind  byte
	tag   uint64
	named bool    // version 2: the datagram carries a network tag
	net   [4]byte // the network tag, if named
}

// parseHeader splits a datagram into its header and payload; ok is false for a
// malformed datagram. It reads either version: whether the datagram belongs to the
// receiver's network is framing.accepts' question.
func parseHeader(b []byte) (h header, payload []byte, ok bool) {
	if len(b) == 0 {
		return h, nil, false
	}
	n := headerLen
	switch b[0] >> 4 {
	case versionPublic:
	case versionNamed:
		h.named, n = true, headerLenNamed
	default:
		return h, nil, false
	}
	if len(b) < n || len(b) > n+protocol.MaxMessageSize {
		return h, nil, false
	}
	h.kind = b[0] & 0x0f
	if h.kind < kindRequest || h.kind > kindError {
		return h, nil, false
	}
	h.tag = binary.BigEndian.Uint64(b[1:headerLen])
	if h.named {
		copy(h.net[:], b[headerLen:headerLenNamed])
	}
	return h, b[n:], true
}

// framing is the header of one network: what a transport writes and the only one it
// accepts.
type framing struct {
	named bool
	net   [4]byte
}

// framingFor returns the framing of the network name; "" is the public network.
func framingFor(name string) framing {
	if name == "" {
		return framing{}
	}
	return framing{named: true, net: networkTag(name)}
}

// networkTag is the tag of the network name in the datagrams of its nodes.
func networkTag(name string) [4]byte {
	sum := sha256.Sum256([]byte("kad network " + name))
	return [4]byte(sum[:networkTagLen])
}

// len is the length of the header.
func (f framing) len() int {
	if f.named {
		return headerLenNamed
	}
	return headerLen
}

// put writes the header into b[:f.len()].
func (f framing) put(b []byte, kind byte, tag uint64) {
	if f.named {
		b[0] = versionNamed<<4 | kind
		copy(b[headerLen:headerLenNamed], f.net[:])
	} else {
		b[0] = versionPublic<<4 | kind
	}
	binary.BigEndian.PutUint64(b[1:headerLen], tag)
}

// accepts reports whether a datagram with header h is of this network.
func (f framing) accepts(h header) bool { return h.named == f.named && h.net == f.net }

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
