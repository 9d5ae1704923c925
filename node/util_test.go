package node

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateUTF8(t *testing.T) {
	cases := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "abc", 5, "abc"},
		{"cut ascii", "abcdef", 3, "abc"},
		{"cut before a split rune", "ab€", 4, "ab"},
		{"invalid bytes replaced", "a\xffb", 5, "a?b"},
		{"exact", "ab€", 5, "ab€"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := truncateUTF8(tc.in, tc.n)
			if got != tc.want || len(got) > tc.n || !utf8.ValidString(got) {
				t.Fatalf("truncateUTF8(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
	long := strings.Repeat("€", 200)
	if got := truncateUTF8(long, 256); len(got) > 256 || !utf8.ValidString(got) {
		t.Fatalf("long text: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
