package transports

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNetwork(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"", true}, // the public network
		{"alpha", true},
		{"a", true},
		{"0", true},
		{"corp.example-1_test", true},
		{"a.", true},
		{strings.Repeat("x", MaxNetworkLen), true},
		{strings.Repeat("x", MaxNetworkLen+1), false},
		{"public", false}, // reserved: the public network has no name
		{"publicity", true},
		{"Alpha", false},
		{".alpha", false},
		{"-alpha", false},
		{"_alpha", false},
		{"al pha", false},
		{"al/pha", false},
		{"alpha\n", false},
		{"αλφα", false},
		{"\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNetwork(tt.name)
			if tt.ok && err != nil {
				t.Errorf("CheckNetwork(%q): %v", tt.name, err)
			}
			if !tt.ok && !errors.Is(err, ErrBadNetwork) {
				t.Errorf("CheckNetwork(%q): %v, want ErrBadNetwork", tt.name, err)
			}
			if err != nil && !strings.Contains(err.Error(), `"`) {
				t.Errorf("CheckNetwork(%q): %q does not quote the name", tt.name, err)
			}
		})
	}
}
