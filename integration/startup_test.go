package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kad/protocol"
)

// wantFailure waits for p to exit and checks it failed with status 2 and exactly one
// line on standard error, starting "kad: " and holding every one of want. It returns
// that line.
func wantFailure(t *testing.T, p *proc, want ...string) string {
	t.Helper()
	return wantFailureStatus(t, p, 2, want...)
}

// wantFailureStatus is wantFailure for another exit status.
func wantFailureStatus(t *testing.T, p *proc, status int, want ...string) string {
	t.Helper()
	code, err := p.wait(startTimeout)
	if err != nil {
		t.Fatal(err)
	}
	stderr := p.stderr.String()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code != status {
		t.Errorf("%s: exit status %d, want %d; stderr %q", p.name, code, status, stderr)
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "kad: ") {
		t.Errorf("%s: stderr %q, want one line starting \"kad: \"", p.name, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr %q does not name %q", p.name, stderr, w)
		}
	}
	return lines[len(lines)-1]
}

func TestBadFlags(t *testing.T) {
	id := protocol.KeyFromString("x").String()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"malformed id", []string{"--id", "not-hex"}, "--id"},
		{"short id", []string{"--id", "abcd"}, "--id"},
		{"addr without id", []string{"--bootstrap-addr", "127.0.0.1:4000"}, "--bootstrap-id"},
		{"id without addr", []string{"--bootstrap-id", id}, "--bootstrap-addr"},
		{"unparsable bootstrap addr", []string{"--bootstrap-addr", "127.0.0.1", "--bootstrap-id", id}, "127.0.0.1"},
		{"bad bootstrap", []string{"--bootstrap", "nobody"}, "nobody"},
		{"unknown transport", []string{"--transport", "tcp"}, "tcp"},
		{"bad bind", []string{"--bind", "127.0.0.1:http"}, "--bind"},
		{"unknown flag", []string{"--colour"}, "--colour"},
		{"bad log level", []string{"--log-level", "chatty"}, "chatty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProc(t, tt.name, append([]string{"node"}, tt.args...)...)
			wantFailure(t, p, tt.want)
			if _, err := p.readLine(time.Millisecond); err != errEOF {
				t.Errorf("standard output not empty")
			}
		})
	}
}

func TestBadEnv(t *testing.T) {
	for _, kv := range []string{"KAD_K=lots", "KAD_TRANSPORT=carrier-pigeon", "KAD_ID=00", "KAD_REQUIRE_VERIFIED_IDS=perhaps"} {
		t.Run(kv, func(t *testing.T) {
			t.Parallel()
			p := startProcEnv(t, kv, []string{kv}, "node")
			wantFailure(t, p, strings.SplitN(kv, "=", 2)[1])
		})
	}
}

func TestBootstrapFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes that wait for timeouts")
	}
	for _, transport := range transportNames {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			base := []string{"--transport", transport, "--rpc-timeout", "500ms", "--timeout", "3s"}

			t.Run("unreachable", func(t *testing.T) {
				t.Parallel()
				nowhere := freeUDPPort(t)
				id := protocol.KeyFromString("nobody").String()
				p := startNode(t, transport+"-lonely", append(base,
					"--bootstrap-addr", nowhere.String(), "--bootstrap-id", id)...)
				wantFailure(t, p, "bootstrap", nowhere.String())
			})

			t.Run("wrong id", func(t *testing.T) {
				t.Parallel()
				a := startNode(t, transport+"-a", base...)
				wrong := protocol.KeyFromString("someone else")
				b := startNode(t, transport+"-b", append(base,
					"--bootstrap-addr", a.addr.String(), "--bootstrap-id", wrong.String())...)
				wantFailure(t, b, a.id.String(), wrong.String())
				a.stop()
			})
		})
	}
}

// TestClaimedIDRefused starts a QUIC node that requires verified IDs, and a node that
// claims another node's ID while its own key proves a different one. The claim cannot be
// proven, so the bootstrap node refuses it and the claimant's bootstrap fails.
func TestClaimedIDRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	base := []string{"--transport", "quic", "--rpc-timeout", "500ms", "--timeout", "3s"}
	strict := startNode(t, "strict", append(base, "--require-verified-ids")...)
	victim := startNode(t, "victim", append(base, "--bootstrap", strict.contact().String())...)
	if got := victim.doFinal("id"); got != victim.firstLine {
		t.Fatalf("victim: id %q", got)
	}

	impostor := startNode(t, "impostor", append(base, "--id", victim.id.String(),
		"--bootstrap-addr", strict.addr.String(), "--bootstrap-id", strict.id.String())...)
	if !strings.HasSuffix(impostor.firstLine, " quic unverified") || impostor.id != victim.id {
		t.Errorf("impostor: first line %q, want the victim's id and \"quic unverified\"", impostor.firstLine)
	}
	wantFailure(t, impostor, "bootstrap")

	// The strict node still knows the victim at its own address, and nothing else.
	cs := strict.contacts("table")
	if len(cs) != 1 || cs[0] != victim.contact() {
		t.Errorf("strict node's table: %v, want only %s", cs, victim.contact())
	}

	// Without --require-verified-ids a node accepts the unverified claim, and so the
	// impostor joins; its line still says unverified.
	lenient := startNode(t, "lenient", base...)
	other := startNode(t, "other", append(base, "--id", protocol.KeyFromString("chosen").String(),
		"--bootstrap", lenient.contact().String())...)
	if !strings.HasSuffix(other.firstLine, " quic unverified") {
		t.Errorf("node with --id: first line %q, want \"quic unverified\"", other.firstLine)
	}
	if got := other.doFinal("p " + lenient.contact().String()); got != "pong "+lenient.contact().String() {
		t.Errorf("unverified node pinging a lenient node: %q", got)
	}

	for _, p := range []*proc{strict, victim, lenient, other} {
		p.stop()
	}
}

// TestKeyFile checks that --key gives a node the same ID on every start, over either
// transport, and that --id overrides it.
func TestKeyFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	keyFile := filepath.Join(t.TempDir(), "node.key")
	var id protocol.ID
	for i, transport := range []string{"udp", "quic", "udp"} {
		p := startNode(t, fmt.Sprintf("keyed-%d", i), "--transport", transport, "--key", keyFile)
		if i == 0 {
			id = p.id
		} else if p.id != id {
			t.Errorf("start %d over %s: id %s, want %s as at the first start", i, transport, p.id, id)
		}
		if transport == "quic" && !strings.HasSuffix(p.firstLine, " verified") {
			t.Errorf("over quic: %q, want verified", p.firstLine)
		}
		p.stop()
	}
	chosen := protocol.KeyFromString("chosen")
	p := startNode(t, "chosen", "--key", keyFile, "--id", chosen.String())
	if p.id != chosen || !strings.HasSuffix(p.firstLine, " udp") {
		t.Errorf("with --id: %q, want id %s", p.firstLine, chosen)
	}
	p.stop()
}

// TestDataDir: a node with --data-dir restarts as itself, with the records it held, and
// serves them to a node that joins it after the restart.
func TestDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := filepath.Join(t.TempDir(), "kad")
	first := startNode(t, "persistent", "--data-dir", dir)
	if got := first.doFinal("put colour ultramarine blue"); got != "stored on 1 node" {
		t.Fatalf("put: %q", got)
	}
	first.stop()

	again := startNode(t, "persistent-again", "--data-dir", dir)
	if again.id != first.id {
		t.Fatalf("restarted as %s, want %s", again.id, first.id)
	}
	if got := again.doFinal("get colour"); got != "value ultramarine blue" {
		t.Fatalf("get after restart: %q", got)
	}
	joiner := startNode(t, "joiner", "--bootstrap", again.contact().String())
	if got := joiner.doFinal("get colour"); got != "value ultramarine blue" {
		t.Fatalf("get from a node that joined after the restart: %q", got)
	}
	joiner.stop()
	again.stop()

	// A data directory that is a file is refused with one line and status 2.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, startProc(t, "bad-data-dir", "node", "--data-dir", file), file, "not a directory")
}
