package node

import "strings"

// toValidUTF8 keeps error texts encodable: CBOR text strings must be valid UTF-8, and
// truncation may have split a rune.
func toValidUTF8(s string) string { return strings.ToValidUTF8(s, "?") }
