package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// parsedNodeFlags runs `kad node args...` up to the parsing of its flags, the --config
// file applied, and returns what parseNodeFlags made of them.
func parsedNodeFlags(t *testing.T, args ...string) nodeFlags {
	t.Helper()
	cmd := nodeCommand()
	var got nodeFlags
	cmd.Action = func(c *cli.Context) error {
		var err error
		got, err = parseNodeFlags(c)
		return err
	}
	app := &cli.App{Name: "kad", Commands: []*cli.Command{cmd}, ExitErrHandler: func(*cli.Context, error) {}}
	if err := app.Run(append([]string{"kad", "node"}, args...)); err != nil {
		t.Fatalf("kad node %s: %v", strings.Join(args, " "), err)
	}
	return got
}

func writeConfig(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFile: a YAML or TOML file sets any flag of kad node by its name; a flag on
// the command line and a KAD_* variable win over the file.
func TestConfigFile(t *testing.T) {
	const idA = "00112233445566778899aabbccddeeff00112233"
	yamlFile := writeConfig(t, "kad.yaml", `
transport: quic
bind: 127.0.0.1:4500
k: 8
alpha: 2
sync: true
data-dir: /var/lib/kad
rpc-timeout: 2500ms
bootstrap:
  - `+idA+`@127.0.0.1:4000
  - 127.0.0.1:4001
`)
	tomlFile := writeConfig(t, "kad.toml", `
transport = "quic"
bind = "127.0.0.1:4500"
k = 8
alpha = 2
sync = true
data-dir = "/var/lib/kad"
rpc-timeout = "2500ms"
bootstrap = ["`+idA+`@127.0.0.1:4000", "127.0.0.1:4001"]
`)
	for _, path := range []string{yamlFile, tomlFile} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			f := parsedNodeFlags(t, "--config", path)
			if f.transport != "quic" || f.bind != "127.0.0.1:4500" || f.k != 8 || f.alpha != 2 || !f.sync ||
				f.dataDir != "/var/lib/kad" || f.rpcTimeout != 2500*time.Millisecond || len(f.bootstrap) != 2 ||
				f.bootstrap[0].ID.String() != idA || f.bootstrap[1].Addr.Port() != 4001 {
				t.Errorf("from %s: %+v", path, f)
			}
			f = parsedNodeFlags(t, "--config", path, "--k", "12", "--transport", "udp")
			if f.k != 12 || f.transport != "udp" || f.alpha != 2 {
				t.Errorf("flags over the file: k %d, transport %s, alpha %d; want 12, udp, 2", f.k, f.transport, f.alpha)
			}
			t.Setenv("KAD_ALPHA", "3")
			if f = parsedNodeFlags(t, "--config", path); f.alpha != 3 || f.k != 8 {
				t.Errorf("KAD_ALPHA over the file: alpha %d, k %d; want 3, 8", f.alpha, f.k)
			}
		})
	}
	t.Setenv("KAD_CONFIG", yamlFile)
	if f := parsedNodeFlags(t); f.transport != "quic" {
		t.Errorf("KAD_CONFIG: transport %s, want quic", f.transport)
	}
}

// TestConfigFileRefused: an unknown setting, a value of the wrong kind, a file that does
// not parse, one too large and one missing are usage errors naming the file and what is
// wrong.
func TestConfigFileRefused(t *testing.T) {
	for _, c := range []struct {
		name, file, text, want string
	}{
		{"unknown", "a.yaml", "bnd: 127.0.0.1:4000\n", `unknown setting "bnd"; the settings are alpha, api, api-public, bind`},
		{"string for int", "a.yaml", "k: \"8\"\n", "k: 8: want a whole number"},
		{"int for string", "a.yaml", "transport: 4\n", "transport: 4: want a string"},
		{"bad duration", "a.yaml", "rpc-timeout: soon\n", `rpc-timeout: soon: want a duration`},
		{"bad bool", "a.toml", "sync = \"yes\"\n", "sync: yes: want true or false"},
		{"list of numbers", "a.yaml", "bootstrap: [1, 2]\n", "bootstrap: item 0, 1: want a string"},
		{"bad YAML", "a.yaml", "k: [\n", "YAML:"},
		{"bad TOML", "a.toml", "k = = 3\n", "TOML:"},
		{"out of range", "a.yaml", "k: 0\n", "--k 0: want 1.."},
		{"too large", "a.yaml", strings.Repeat("#", maxConfig+1), "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.file, c.text)
			wantUsageError(t, []string{"kad", "node", "--config", path}, c.want)
		})
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	wantUsageError(t, []string{"kad", "node", "--config", missing}, missing)
}
