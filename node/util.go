package node

import (
	"strings"
	"unicode/utf8"
)

// truncateUTF8 returns s as valid UTF-8 of at most n bytes, cut at a rune boundary: CBOR
// text strings must be valid UTF-8, and the wire limits their length.
func truncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "?") // never longer: "?" replaces at least one byte
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
