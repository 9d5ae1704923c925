package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. Decode must not panic and must refuse with
// ErrMalformed or ErrTooLarge; whatever it accepts must encode, and decode again to the
// same message, in no more bytes than it came in (the encoder writes the shortest form).
func FuzzDecode(f *testing.F) {
	for _, v := range readVectors(f).Valid {
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, bad := range badInputs() {
		if len(bad.b) <= 4096 {
			f.Add(bad.b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		// The hand-written decoder must accept exactly what the reference decoder built
		// on fxamacker/cbor accepts, and read it the same way.
		ref, refErr := referenceDecode(b)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("decoders disagree on %x: fast %v, reference %v", b, err, refErr)
		}
		if err == nil && !reflect.DeepEqual(normalize(m), normalize(ref)) {
			t.Fatalf("decoders read %x differently:\n%+v\n%+v", b, m, ref)
		}
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned both a message and an error: %v", err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Decode error wraps neither ErrMalformed nor ErrTooLarge: %v", err)
			}
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("Decode accepted %x as %+v, which does not encode: %v", b, m, err)
		}
		if len(enc) > len(b) {
			t.Fatalf("re-encoding grew from %d to %d bytes:\n in %x\nout %x", len(b), len(enc), b, enc)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(m)) failed: %v\n in %x\nout %x", err, b, enc)
		}
		if !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("decode → encode → decode changed the message:\n%+v\n%+v", m, m2)
		}
		enc2, err := m2.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable: %x, then %x (%v)", enc, enc2, err)
		}
	})
}
