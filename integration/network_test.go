package integration

import (
	"strings"
	"testing"
)

// TestNetworks runs three networks side by side on 127.0.0.1 over each transport —
// alpha (A1, A2), beta (B1, B2) and the public one (P1) — and checks that they never
// admit each other: a bootstrap across networks fails as a bootstrap to nobody does, a
// request across gets no answer, the same key holds a different value in each, and no
// node enters the routing table of another network's; while inside each network the
// nodes join, store and find as usual.
func TestNetworks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes")
	}
	for _, transport := range transportNames {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			testNetworks(t, transport)
		})
	}
}

func testNetworks(t *testing.T, transport string) {
	base := append(nodeArgs(transport), "--rpc-timeout", "500ms")
	alpha := append(base[:len(base):len(base)], "--network", "alpha")
	beta := append(base[:len(base):len(base)], "--network", "beta")
	join := func(args []string, to *proc) []string {
		return append(args[:len(args):len(args)], "--bootstrap", to.contact().String())
	}

	a1 := startNode(t, transport+"-a1", alpha...)
	a2 := startNode(t, transport+"-a2", join(alpha, a1)...)
	b1 := startNode(t, transport+"-b1", beta...)
	b2 := startNode(t, transport+"-b2", join(beta, b1)...)
	p1 := startNode(t, transport+"-p1", append(base[:len(base):len(base)], "--network", "public")...)
	// The console answers once bootstrapping is over; a failed one ends the process.
	for _, p := range []*proc{a1, a2, b1, b2, p1} {
		if got := p.doFinal("id"); got != p.firstLine {
			t.Fatalf("%s: id answered %q, first line was %q", p.name, got, p.firstLine)
		}
	}

	// Bootstraps across networks fail, with the status of any failed bootstrap; over
	// QUIC the handshake says why.
	t.Run("bootstrap across", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			to   *proc
		}{
			{"alpha into beta", alpha, b1},
			{"public into alpha", base, a1},
			{"beta into public", beta, p1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				p := startNode(t, transport+"-"+strings.ReplaceAll(tt.name, " ", "-"), join(tt.args, tt.to)...)
				want := []string{"bootstrap", tt.to.addr.String()}
				if transport == "quic" {
					want = append(want, "another network")
				}
				wantFailure(t, p, want...)
			})
		}
	})

	// The same key holds a value of its own in each network.
	for _, w := range []struct {
		p      *proc
		value  string
		stored string
	}{
		{a2, "alpha red", "stored on 2 nodes"},
		{b2, "beta blue", "stored on 2 nodes"},
		{p1, "public green", "stored on 1 node"},
	} {
		if got := w.p.doFinal("put colour " + w.value); got != w.stored {
			t.Errorf("%s: put: %q, want %q", w.p.name, got, w.stored)
		}
	}
	for _, r := range []struct {
		p    *proc
		want string
	}{{a1, "alpha red"}, {b1, "beta blue"}, {p1, "public green"}} {
		if got := r.p.doFinal("get colour"); got != "value "+r.want {
			t.Errorf("%s: get colour: %q, want %q", r.p.name, got, "value "+r.want)
		}
	}
	// A value put in one network is not found from another.
	if got := a1.doFinal("put shape dodecahedron"); got != "stored on 2 nodes" {
		t.Errorf("%s: put: %q", a1.name, got)
	}
	if got := a2.doFinal("get shape"); got != "value dodecahedron" {
		t.Errorf("%s: get shape: %q, want the value put in alpha", a2.name, got)
	}
	for _, p := range []*proc{b1, b2, p1} {
		if got := p.doFinal("get shape"); got != "not found" {
			t.Errorf("%s: get shape: %q, want \"not found\": it was put in alpha", p.name, got)
		}
	}

	// Requests straight to a node of another network get no answer.
	for _, c := range []struct{ from, to *proc }{{a1, b1}, {b2, p1}, {p1, a2}} {
		if got := c.from.doFinal("p " + c.to.addr.String()); !strings.HasPrefix(got, "error: ") {
			t.Errorf("%s: ping of %s: %q, want an error", c.from.name, c.to.name, got)
		}
		if got := c.from.doFinal("fv " + c.to.addr.String() + " " + c.to.id.String()); !strings.HasPrefix(got, "error: ") {
			t.Errorf("%s: FIND_VALUE at %s: %q, want an error", c.from.name, c.to.name, got)
		}
	}

	// After all that, every routing table holds its own network's nodes only.
	for _, w := range []struct {
		p     *proc
		peers []*proc
	}{{a1, []*proc{a2}}, {a2, []*proc{a1}}, {b1, []*proc{b2}}, {b2, []*proc{b1}}, {p1, nil}} {
		cs := w.p.contacts("table")
		if len(cs) != len(w.peers) || len(cs) == 1 && cs[0] != w.peers[0].contact() {
			var want []string
			for _, p := range w.peers {
				want = append(want, p.contact().String())
			}
			t.Errorf("%s: table %v, want %v", w.p.name, cs, want)
		}
	}

	for _, p := range []*proc{a1, a2, b1, b2, p1} {
		p.stop()
	}
}

// TestBadNetwork: a network name outside the rule is a usage error, from the flag and
// from the environment.
func TestBadNetwork(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"capitals", []string{"--network", "Alpha"}, nil, `"Alpha"`},
		{"space", []string{"--network", "al pha"}, nil, `"al pha"`},
		{"too long", []string{"--network", strings.Repeat("n", 33)}, nil, "33 bytes"},
		{"variable", nil, []string{"KAD_NETWORK=a/b"}, `"a/b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProcEnv(t, tt.name, tt.env, append([]string{"node"}, tt.args...)...)
			wantFailure(t, p, "--network", tt.want)
		})
	}
}
