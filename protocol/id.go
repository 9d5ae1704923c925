package protocol

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
)

// IDBytes is the length of an ID in bytes: 160 bits, as in the paper (§2).
const IDBytes = 20

// IDBits is the length of an ID in bits, and the number of k-buckets.
const IDBits = IDBytes * 8

// ID is a node identifier or a key: 160 bits, compared by XOR distance.
// It is a comparable value type, usable as a map key.
type ID [IDBytes]byte

// ParseID reads an ID from its 40-character hexadecimal form.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDBytes {
		return id, fmt.Errorf("parse id %q: %w: want %d hex characters, got %d", s, ErrBadID, 2*IDBytes, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("parse id %q: %w: %v", s, ErrBadID, err)
	}
	return id, nil
}

// MustParseID is ParseID for IDs written into tests and examples: it panics if s is not
// an ID, like netip.MustParseAddr.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// IDFromBytes copies b into an ID; b must be exactly IDBytes long.
func IDFromBytes(b []byte) (ID, error) {
	var id ID
	if len(b) != IDBytes {
		return id, fmt.Errorf("%w: want %d bytes, got %d", ErrBadID, IDBytes, len(b))
	}
	copy(id[:], b)
	return id, nil
}

// KeyFromString hashes a string key into the ID space: SHA-256(s) truncated to 20 bytes.
func KeyFromString(s string) ID {
	sum := sha256.Sum256([]byte(s))
	var id ID
	copy(id[:], sum[:IDBytes])
	return id
}

// RandomID returns an ID read from r, or from crypto/rand when r is nil.
func RandomID(r io.Reader) ID {
	if r == nil {
		r = rand.Reader
	}
	var id ID
	if _, err := io.ReadFull(r, id[:]); err != nil {
		panic("protocol: random source failed: " + err.Error())
	}
	return id
}

// String returns the 40-character lower-case hexadecimal form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hexadecimal characters, for logs.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is all zero bits (the "unknown" ID).
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) {
	b := make([]byte, 2*IDBytes)
	hex.Encode(b, id[:])
	return b, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Xor returns the XOR distance between id and o (paper §2.1).
func (id ID) Xor(o ID) ID {
	var d ID
	for i := range d {
		d[i] = id[i] ^ o[i]
	}
	return d
}

// CommonPrefixLen returns the number of leading bits id and o share: IDBits when equal.
// It is the index of the k-bucket o falls in, seen from id.
func (id ID) CommonPrefixLen(o ID) int {
	for i := range id {
		if x := id[i] ^ o[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return IDBits
}

// CmpDistance compares the distances of a and b to target: -1 if a is closer,
// +1 if b is closer, 0 if a == b. It does not allocate.
func (target ID) CmpDistance(a, b ID) int {
	for i := range target {
		da, db := a[i]^target[i], b[i]^target[i]
		if da != db {
			if da < db {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Cmp compares id and o as big-endian unsigned integers.
func (id ID) Cmp(o ID) int {
	for i := range id {
		if id[i] != o[i] {
			if id[i] < o[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// RandomInBucket returns a random ID whose common prefix with id is exactly prefix bits
// long, i.e. one that falls in id's bucket number prefix. prefix must be < IDBits.
func (id ID) RandomInBucket(prefix int, r io.Reader) ID {
	out := RandomID(r)
	byteIdx, bit := prefix/8, uint(prefix%8)
	copy(out[:byteIdx], id[:byteIdx])
	// Bits above `bit` in this byte come from id; bit `bit` is flipped; below it stay random.
	mask := byte(0xff) << (8 - bit) // the bits that must equal id's
	flip := byte(0x80) >> bit
	b := (id[byteIdx] & mask) | (^id[byteIdx] & flip) | (out[byteIdx] &^ (mask | flip))
	out[byteIdx] = b
	return out
}
