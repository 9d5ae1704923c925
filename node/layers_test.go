package node_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the dependencies pointing one way (README, "Layout"): node sees only
// the Transport interface, never a concrete transport; the table, the store and the
// identity know nothing of the node; the wire format knows nothing of the rest.
func TestLayers(t *testing.T) {
	tests := []struct {
		pkg       string
		forbidden []string // import path prefixes
	}{
		{"kad/node", []string{"kad/transports/", "kad/internal/", "kad/cmd/"}},
		{"kad/routing", []string{"kad/node", "kad/store", "kad/transports", "kad/identity"}},
		{"kad/store/...", []string{"kad/node", "kad/routing", "kad/transports", "kad/identity"}},
		{"kad/identity", []string{"kad/node", "kad/routing", "kad/store", "kad/transports"}},
		// A transport may ask routing, which sees only protocol, the one rule of which
		// addresses share a subnet (QUIC's limits per source).
		{"kad/transports/...", []string{"kad/node", "kad/store", "kad/internal/"}},
		{"kad/protocol", []string{"kad/node", "kad/routing", "kad/store", "kad/identity", "kad/transports"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, f := range tt.forbidden {
					if strings.HasPrefix(dep, f) {
						t.Errorf("%s depends on %s", tt.pkg, dep)
					}
				}
			}
		})
	}
}
