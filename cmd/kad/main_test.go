package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/goleak"

	"kad/internal/console"
	"kad/protocol"
)

const (
	idA = "00112233445566778899aabbccddeeff00112233"
	idB = "ffeeddccbbaa99887766554433221100ffeeddcc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// parseArgs runs the flags of `kad node` through the cli package as main does, and returns
// what parseNodeFlags made of them.
func parseArgs(t *testing.T, args ...string) (nodeFlags, error) {
	t.Helper()
	var got nodeFlags
	var perr error
	app := &cli.App{
		Name:           "kad",
		ExitErrHandler: func(*cli.Context, error) {},
		Writer:         &bytes.Buffer{},
		ErrWriter:      &bytes.Buffer{},
		Commands: []*cli.Command{{
			Name:  "node",
			Flags: nodeFlagList(),
			OnUsageError: func(_ *cli.Context, err error, _ bool) error {
				return err
			},
			Action: func(c *cli.Context) error {
				got, perr = parseNodeFlags(c)
				return nil
			},
		}},
	}
	if err := app.Run(append([]string{"kad", "node"}, args...)); err != nil {
		return got, err
	}
	return got, perr
}

func TestParseNodeFlags(t *testing.T) {
	f, err := parseArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if f.transport != "udp" || f.bind != "127.0.0.1:0" || !f.id.IsZero() || f.keyFile != "" ||
		len(f.bootstrap) != 0 || f.k != protocol.K || f.alpha != protocol.Alpha || f.requireIDs ||
		f.timeout != console.DefaultTimeout || f.rpcTimeout != time.Second {
		t.Errorf("defaults: got %+v", f)
	}

	f, err = parseArgs(t, "--transport", "quic", "--bind", "127.0.0.1:4000", "--id", idA,
		"--key", "/tmp/k", "--bootstrap", idB+"@127.0.0.1:4002", "--bootstrap", "127.0.0.1:4003",
		"--bootstrap-addr", "127.0.0.1:4001", "--bootstrap-id", idB,
		"--k", "8", "--alpha", "2", "--require-verified-ids", "--log-level", "debug",
		"--rpc-timeout", "300ms", "--timeout", "2s")
	if err != nil {
		t.Fatal(err)
	}
	if f.transport != "quic" || f.bind != "127.0.0.1:4000" || f.id.String() != idA || f.keyFile != "/tmp/k" ||
		f.k != 8 || f.alpha != 2 || !f.requireIDs || f.rpcTimeout != 300*time.Millisecond || f.timeout != 2*time.Second {
		t.Errorf("flags: got %+v", f)
	}
	want := []string{idB + "@127.0.0.1:4001", idB + "@127.0.0.1:4002", protocol.ID{}.String() + "@127.0.0.1:4003"}
	if len(f.bootstrap) != len(want) {
		t.Fatalf("bootstrap: got %v, want %v", f.bootstrap, want)
	}
	for i, c := range f.bootstrap {
		if c.String() != want[i] {
			t.Errorf("bootstrap[%d] = %s, want %s", i, c, want[i])
		}
	}
}

func TestParseNodeFlagsFromEnv(t *testing.T) {
	t.Setenv("KAD_TRANSPORT", "quic")
	t.Setenv("KAD_BIND", "127.0.0.1:5000")
	t.Setenv("KAD_ID", idA)
	t.Setenv("KAD_BOOTSTRAP_ADDR", "127.0.0.1:5001")
	t.Setenv("KAD_BOOTSTRAP_ID", idB)
	t.Setenv("KAD_BOOTSTRAP", idA+"@127.0.0.1:5002,"+idB+"@127.0.0.1:5003")
	t.Setenv("KAD_K", "10")
	t.Setenv("KAD_ALPHA", "5")
	t.Setenv("KAD_REQUIRE_VERIFIED_IDS", "true")
	t.Setenv("KAD_LOG_LEVEL", "warn")
	f, err := parseArgs(t, "--k", "12") // a flag wins over its variable
	if err != nil {
		t.Fatal(err)
	}
	if f.transport != "quic" || f.bind != "127.0.0.1:5000" || f.id.String() != idA || len(f.bootstrap) != 3 ||
		f.k != 12 || f.alpha != 5 || !f.requireIDs {
		t.Errorf("got %+v", f)
	}
}

// TestUsageErrors checks that every bad flag or variable ends the program with status 2
// and one line on stderr, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the stderr line
	}{
		{name: "malformed id", args: []string{"node", "--id", "xyz"}, want: "--id"},
		{name: "id too long", args: []string{"node", "--id", idA + "00"}, want: "--id"},
		{name: "addr without id", args: []string{"node", "--bootstrap-addr", "127.0.0.1:4000"}, want: "--bootstrap-id"},
		{name: "id without addr", args: []string{"node", "--bootstrap-id", idA}, want: "--bootstrap-addr"},
		{name: "bad bootstrap addr", args: []string{"node", "--bootstrap-addr", "nowhere", "--bootstrap-id", idA}, want: "nowhere"},
		{name: "bootstrap port 0", args: []string{"node", "--bootstrap", idA + "@127.0.0.1:0"}, want: "--bootstrap"},
		{name: "bad bootstrap", args: []string{"node", "--bootstrap", "junk"}, want: "junk"},
		{name: "unknown transport", args: []string{"node", "--transport", "tcp"}, want: "tcp"},
		{name: "bad bind", args: []string{"node", "--bind", "localhost"}, want: "--bind"},
		{name: "bad k", args: []string{"node", "--k", "0"}, want: "--k 0: want 1.."},
		{name: "k too large", args: []string{"node", "--k", "1000"}, want: "--k 1000: want 1.."},
		{name: "k not a number", args: []string{"node", "--k", "many"}, want: "many"},
		{name: "alpha over k", args: []string{"node", "--k", "4", "--alpha", "5"}, want: "--alpha 5: want 1..K (4)"},
		{name: "zero rpc timeout", args: []string{"node", "--rpc-timeout", "0s"}, want: "--rpc-timeout 0s"},
		{name: "mem transport", args: []string{"node", "--transport", "mem"}, want: "mem"},
		{name: "bad log level", args: []string{"node", "--log-level", "loud"}, want: "loud"},
		{name: "bad log format", args: []string{"node", "--log-format", "xml"}, want: `--log-format "xml"`},
		{name: "bad KAD_LOG_FORMAT", args: []string{"node"}, env: map[string]string{"KAD_LOG_FORMAT": "xml"}, want: "xml"},
		{name: "sync without a data directory", args: []string{"node", "--sync"}, want: "--sync needs --data-dir"},
		{name: "unknown reachability", args: []string{"node", "--reachability", "sometimes"}, want: "--reachability: reachability \"sometimes\": want auto, public or client"},
		{name: "bad timeout", args: []string{"node", "--timeout", "0s"}, want: "--timeout"},
		{name: "unknown flag", args: []string{"node", "--nope"}, want: "unknown flag --nope"},
		{name: "unknown flag after values", args: []string{"node", "--k=8", "--require-verified-ids", "--bind", "127.0.0.1:0", "-nope"},
			want: "unknown flag --nope"},
		{name: "unknown one-letter flag", args: []string{"node", "-q"}, want: "unknown flag -q"},
		{name: "flag without value", args: []string{"node", "--id"}, want: "flag --id needs a value"},
		{name: "unknown flag before the command", args: []string{"--nope", "node"}, want: "-nope"},
		{name: "argument", args: []string{"node", "extra"}, want: "extra"},
		{name: "unknown command", args: []string{"nosuch"}, want: "nosuch"},
		{name: "bad KAD_K", args: []string{"node"}, env: map[string]string{"KAD_K": "abc"}, want: "abc"},
		{name: "bad KAD_TRANSPORT", args: []string{"node"}, env: map[string]string{"KAD_TRANSPORT": "tcp"}, want: "tcp"},
		{name: "bad KAD_REQUIRE_VERIFIED_IDS", args: []string{"node"}, env: map[string]string{"KAD_REQUIRE_VERIFIED_IDS": "maybe"}, want: "maybe"},
		{name: "bad KAD_TIMEOUT", args: []string{"node"}, env: map[string]string{"KAD_TIMEOUT": "soon"}, want: "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			wantUsageError(t, append([]string{"kad"}, tt.args...), tt.want)
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want slog.Level
	}{
		{name: "debug", in: "debug", want: slog.LevelDebug},
		{name: "upper case", in: "INFO", want: slog.LevelInfo},
		{name: "mixed case", in: "Warn", want: slog.LevelWarn},
		{name: "warning", in: "warning", want: slog.LevelWarn},
		{name: "error", in: "error", want: slog.LevelError},
		{name: "offset up", in: "INFO+2", want: slog.LevelInfo + 2},
		{name: "offset down", in: "debug-4", want: slog.LevelDebug - 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLevel(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"loud", "", "info+", "3"} {
		if _, err := parseLevel(bad); err == nil {
			t.Errorf("parseLevel(%q) accepted", bad)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"kad"}, {"kad", "--help"}, {"kad", "node", "--help"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != exitOK {
			t.Errorf("%q: exit status %d, stderr %q", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "node") {
			t.Errorf("%q: stdout %q lacks the node command", args, stdout.String())
		}
	}
}

// wantUsageError runs kad with args and checks it fails as a usage error: exit status 2,
// nothing on standard output, one line on standard error starting "kad: " and naming want.
func wantUsageError(t *testing.T, args []string, want string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	if code != exitUsage {
		t.Errorf("exit status %d, want %d (stderr %q)", code, exitUsage, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q, want nothing", stdout.String())
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "kad: ") || !strings.Contains(lines[0], want) {
		t.Errorf("stderr: %q, want one line starting \"kad: \" naming %q", stderr.String(), want)
	}
}
