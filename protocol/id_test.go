package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// testRand returns a deterministic source of randomness for property tests, so that a
// failure can be reproduced.
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(s)
}

// flipBit returns id with bit i (0 = most significant) inverted.
func flipBit(id ID, i int) ID {
	id[i/8] ^= 0x80 >> (i % 8)
	return id
}

// bigDist returns the XOR distance of a and b as an integer.
func bigDist(a, b ID) *big.Int {
	d := a.Xor(b)
	return new(big.Int).SetBytes(d[:])
}

func TestParseID(t *testing.T) {
	const lower = "0123456789abcdef0123456789abcdef01234567"
	want := ID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67}
	tests := []struct {
		name    string
		in      string
		want    ID
		wantErr bool
	}{
		{name: "lower case", in: lower, want: want},
		{name: "upper case accepted", in: strings.ToUpper(lower), want: want},
		{name: "mixed case accepted", in: "0123456789ABCDEF0123456789abcdef01234567", want: want},
		{name: "zero", in: strings.Repeat("0", 40), want: ID{}},
		{name: "all ones", in: strings.Repeat("f", 40), want: ID(bytes.Repeat([]byte{0xff}, 20))},
		{name: "empty", in: "", wantErr: true},
		{name: "39 characters", in: lower[:39], wantErr: true},
		{name: "41 characters", in: lower + "0", wantErr: true},
		{name: "38 characters", in: lower[:38], wantErr: true},
		{name: "42 characters", in: lower + "00", wantErr: true},
		{name: "0x prefix", in: "0x" + lower, wantErr: true},
		{name: "non-hex character", in: "g" + lower[1:], wantErr: true},
		{name: "non-hex at end", in: lower[:39] + "z", wantErr: true},
		{name: "space", in: " " + lower[1:], wantErr: true},
		{name: "multi-byte UTF-8 of right byte length", in: "é" + lower[2:], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseID(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadID) {
					t.Fatalf("ParseID(%q) = %v, %v; want an error wrapping ErrBadID", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseID(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseID(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if s := got.String(); s != strings.ToLower(tt.in) {
				t.Errorf("String() = %q, want the lower-case input %q", s, strings.ToLower(tt.in))
			}
		})
	}
}

func TestMustParseID(t *testing.T) {
	const s = "0123456789abcdef0123456789abcdef01234567"
	if got, want := MustParseID(s), (ID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67}); got != want {
		t.Fatalf("MustParseID(%q) = %s, want %s", s, got, want)
	}
	for _, bad := range []string{"", s[:39], s + "0", "g" + s[1:]} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			defer func() {
				r := recover()
				if err, ok := r.(error); !ok || !errors.Is(err, ErrBadID) {
					t.Fatalf("MustParseID(%q) panicked with %v, want an error wrapping ErrBadID", bad, r)
				}
			}()
			MustParseID(bad)
		})
	}
}

func TestIDFromBytes(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{name: "20 bytes", in: bytes.Repeat([]byte{7}, 20)},
		{name: "nil", in: nil, wantErr: true},
		{name: "3 bytes", in: []byte{1, 2, 3}, wantErr: true},
		{name: "19 bytes", in: make([]byte, 19), wantErr: true},
		{name: "21 bytes", in: make([]byte, 21), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := IDFromBytes(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadID) {
					t.Fatalf("IDFromBytes(%d bytes) = %v; want ErrBadID", len(tt.in), err)
				}
				return
			}
			if err != nil || !bytes.Equal(id[:], tt.in) {
				t.Fatalf("IDFromBytes = %v, %v; want %x", id, err, tt.in)
			}
		})
	}
}

func TestIDMarshalUnmarshal(t *testing.T) {
	r := testRand(1)
	ids := []ID{{}, ID(bytes.Repeat([]byte{0xff}, 20)), RandomID(r), RandomID(r)}
	for _, id := range ids {
		t.Run(id.Short(), func(t *testing.T) {
			text, err := id.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			if string(text) != id.String() || len(text) != 40 {
				t.Fatalf("MarshalText = %q, String = %q", text, id.String())
			}
			if id.Short() != id.String()[:8] {
				t.Errorf("Short = %q, want %q", id.Short(), id.String()[:8])
			}
			var back ID
			if err := back.UnmarshalText(text); err != nil {
				t.Fatal(err)
			}
			if back != id {
				t.Fatalf("UnmarshalText(MarshalText(%v)) = %v", id, back)
			}
		})
	}
	t.Run("bad text leaves the ID alone", func(t *testing.T) {
		id := ids[2]
		if err := id.UnmarshalText([]byte("nothex")); !errors.Is(err, ErrBadID) {
			t.Fatalf("UnmarshalText(nothex) = %v, want ErrBadID", err)
		}
		if id != ids[2] {
			t.Fatalf("failed UnmarshalText changed the ID to %v", id)
		}
	})
}

func TestXor(t *testing.T) {
	ones := ID(bytes.Repeat([]byte{0xff}, 20))
	a := MustParseID("0123456789abcdef0123456789abcdef01234567")
	tests := []struct {
		name    string
		a, b    ID
		want    ID
		wantHex string
	}{
		{name: "self is zero", a: a, b: a, want: ID{}},
		{name: "zero is identity", a: a, b: ID{}, want: a},
		{name: "ones complements", a: a, b: ones, wantHex: "fedcba9876543210fedcba9876543210fedcba98"},
		{name: "one bit", a: ID{}, b: flipBit(ID{}, 159), wantHex: "0000000000000000000000000000000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if tt.wantHex != "" {
				want = MustParseID(tt.wantHex)
			}
			if got := tt.a.Xor(tt.b); got != want {
				t.Errorf("Xor = %v, want %v", got, want)
			}
			if got := tt.b.Xor(tt.a); got != want {
				t.Errorf("Xor is not symmetric: %v", got)
			}
		})
	}
}

func TestCommonPrefixLen(t *testing.T) {
	r := testRand(2)
	bases := map[string]ID{"zero": {}, "ones": ID(bytes.Repeat([]byte{0xff}, 20)), "random": RandomID(r)}
	tests := []struct {
		name string
		bit  int // the first bit at which the other ID differs; -1 for equal
		want int
	}{
		{name: "differ at bit 0", bit: 0, want: 0},
		{name: "differ at bit 1", bit: 1, want: 1},
		{name: "differ at bit 7", bit: 7, want: 7},
		{name: "differ at bit 8", bit: 8, want: 8},
		{name: "differ at bit 80", bit: 80, want: 80},
		{name: "differ at bit 158", bit: 158, want: 158},
		{name: "differ at bit 159", bit: 159, want: 159},
		{name: "equal", bit: -1, want: IDBits},
	}
	for baseName, base := range bases {
		for _, tt := range tests {
			t.Run(baseName+"/"+tt.name, func(t *testing.T) {
				o := base
				if tt.bit >= 0 {
					o = flipBit(o, tt.bit)
					// Bits after the first difference do not matter.
					for i := tt.bit + 1; i < IDBits; i += 3 {
						o = flipBit(o, i)
					}
				}
				if got := base.CommonPrefixLen(o); got != tt.want {
					t.Errorf("CommonPrefixLen = %d, want %d (%v vs %v)", got, tt.want, base, o)
				}
				if got := o.CommonPrefixLen(base); got != tt.want {
					t.Errorf("reversed CommonPrefixLen = %d, want %d", got, tt.want)
				}
			})
		}
	}
	t.Run("matches the bit length of the distance", func(t *testing.T) {
		for range 1000 {
			a := RandomID(r)
			b := a.RandomInBucket(int(r.Uint64()%IDBits), r)
			if got, want := a.CommonPrefixLen(b), IDBits-bigDist(a, b).BitLen(); got != want {
				t.Fatalf("CommonPrefixLen(%v, %v) = %d, want %d", a, b, got, want)
			}
		}
	})
}

func TestCmpDistance(t *testing.T) {
	target := MustParseID("8000000000000000000000000000000000000000")
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "equal", a: "1234567890123456789012345678901234567890", b: "1234567890123456789012345678901234567890", want: 0},
		{name: "target itself is closest", a: "8000000000000000000000000000000000000000", b: "8000000000000000000000000000000000000001", want: -1},
		{name: "same top bit beats lower bits", a: "8fffffffffffffffffffffffffffffffffffffff", b: "0000000000000000000000000000000000000000", want: -1},
		{name: "last byte decides", a: "8000000000000000000000000000000000000003", b: "8000000000000000000000000000000000000002", want: 1},
		{name: "not numeric order", a: "7fffffffffffffffffffffffffffffffffffffff", b: "ffffffffffffffffffffffffffffffffffffffff", want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := MustParseID(tt.a), MustParseID(tt.b)
			if got := target.CmpDistance(a, b); got != tt.want {
				t.Errorf("CmpDistance(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := target.CmpDistance(b, a); got != -tt.want {
				t.Errorf("reversed CmpDistance = %d, want %d", got, -tt.want)
			}
		})
	}
	t.Run("property: agrees with big.Int XOR distances", func(t *testing.T) {
		r := testRand(3)
		for i := range 20000 {
			target, a, b := RandomID(r), RandomID(r), RandomID(r)
			if i%4 == 0 { // share a long prefix so that late bytes decide
				b = a.RandomInBucket(int(r.Uint64()%IDBits), r)
			}
			want := bigDist(target, a).Cmp(bigDist(target, b))
			if got := target.CmpDistance(a, b); got != want {
				t.Fatalf("CmpDistance(target %v, %v, %v) = %d, want %d", target, a, b, got, want)
			}
		}
	})
}

func TestCmp(t *testing.T) {
	r := testRand(4)
	for range 2000 {
		a, b := RandomID(r), RandomID(r)
		want := new(big.Int).SetBytes(a[:]).Cmp(new(big.Int).SetBytes(b[:]))
		if got := a.Cmp(b); got != want {
			t.Fatalf("Cmp(%v, %v) = %d, want %d", a, b, got, want)
		}
	}
	if a := RandomID(r); a.Cmp(a) != 0 {
		t.Fatal("Cmp(a, a) != 0")
	}
}

func TestRandomInBucket(t *testing.T) {
	r := testRand(5)
	selves := []ID{{}, ID(bytes.Repeat([]byte{0xff}, 20))}
	for range 200 {
		selves = append(selves, RandomID(r))
	}
	for p := range IDBits {
		for _, self := range selves {
			got := self.RandomInBucket(p, r)
			if cpl := self.CommonPrefixLen(got); cpl != p {
				t.Fatalf("CommonPrefixLen(%v, RandomInBucket(%d)) = %d (got %v)", self, p, cpl, got)
			}
		}
	}
	t.Run("bits below the prefix are random", func(t *testing.T) {
		// Bucket 0 holds half the ID space: 64 draws agreeing on all 159 free bits would
		// mean the low bits are not drawn at all.
		self := RandomID(r)
		first := self.RandomInBucket(0, r)
		for range 64 {
			if self.RandomInBucket(0, r) != first {
				return
			}
		}
		t.Fatal("RandomInBucket(0) returned the same ID 65 times")
	})
	t.Run("crypto/rand when r is nil", func(t *testing.T) {
		self := RandomID(nil)
		if got := self.RandomInBucket(42, nil); self.CommonPrefixLen(got) != 42 {
			t.Fatalf("CommonPrefixLen = %d, want 42", self.CommonPrefixLen(got))
		}
	})
}

func TestKeyFromString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // SHA-256(in)[:20], from the published digests of "" and "hello"
	}{
		{name: "empty", in: "", want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"},
		{name: "hello", in: "hello", want: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c"},
		{name: "abc", in: "abc", want: "ba7816bf8f01cfea414140de5dae2223b00361a3"},
		{name: "UTF-8", in: "clé"},
		{name: "long", in: strings.Repeat("kademlia ", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sha256.New()
			h.Write([]byte(tt.in))
			sum := h.Sum(nil)
			if tt.want != "" && hex.EncodeToString(sum[:20]) != tt.want {
				t.Fatalf("the test's own vector is wrong: %x", sum[:20])
			}
			got := KeyFromString(tt.in)
			if !bytes.Equal(got[:], sum[:20]) {
				t.Fatalf("KeyFromString(%q) = %v, want %x", tt.in, got, sum[:20])
			}
		})
	}
}

func TestRandomID(t *testing.T) {
	t.Run("reads from r", func(t *testing.T) {
		if got := RandomID(bytes.NewReader(bytes.Repeat([]byte{9}, 20))); got != ID(bytes.Repeat([]byte{9}, 20)) {
			t.Fatalf("RandomID = %v", got)
		}
	})
	t.Run("short reader panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("RandomID from a 3-byte reader did not panic")
			}
		}()
		RandomID(bytes.NewReader([]byte{1, 2, 3}))
	})
	t.Run("crypto/rand", func(t *testing.T) {
		if a, b := RandomID(nil), RandomID(nil); a == b || a.IsZero() {
			t.Fatalf("RandomID(nil) returned %v and %v", a, b)
		}
	})
}
