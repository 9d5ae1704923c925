package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name   string
		format string
		check  func(t *testing.T, line string)
	}{
		{name: "text", format: "text", check: func(t *testing.T, line string) {
			if !strings.Contains(line, "level=WARN msg=\"bootstrap failed\" peer=127.0.0.1:4000 err=timeout") {
				t.Errorf("text line %q", line)
			}
		}},
		{name: "json", format: "json", check: checkJSON},
		{name: "json in capitals", format: "JSON", check: checkJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger, err := newLogger(&buf, slog.LevelInfo, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			logger.Debug("not shown at info")
			logger.Warn("bootstrap failed", "peer", "127.0.0.1:4000", "err", errors.New("timeout"))
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d lines, want 1 (the debug record is below the level): %q", len(lines), buf.String())
			}
			tt.check(t, lines[0])
		})
	}
}

func checkJSON(t *testing.T, line string) {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", line, err)
	}
	want := map[string]string{"level": "WARN", "msg": "bootstrap failed", "peer": "127.0.0.1:4000", "err": "timeout"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %q (record %q)", k, rec[k], v, line)
		}
	}
	if _, ok := rec["time"].(string); !ok {
		t.Errorf("no time in %q", line)
	}
}

func TestLogFormatErrors(t *testing.T) {
	for _, bad := range []string{"xml", "", "texts", "logfmt"} {
		_, err := newLogger(&bytes.Buffer{}, slog.LevelInfo, bad)
		var ec cli.ExitCoder
		if !errors.As(err, &ec) || ec.ExitCode() != exitUsage {
			t.Errorf("format %q: %v, want a usage error", bad, err)
			continue
		}
		if want := `--log-format "` + bad + `": want text or json`; err.Error() != want {
			t.Errorf("format %q: %q, want %q", bad, err, want)
		}
	}
}

// TestLogFormatFlag checks the flag's default, its variable, and that the flag wins.
func TestLogFormatFlag(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{name: "default", want: "text"},
		{name: "variable", env: "json", want: "json"},
		{name: "flag", args: []string{"--log-format", "json"}, want: "json"},
		{name: "flag over variable", env: "json", args: []string{"--log-format=text"}, want: "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("KAD_LOG_FORMAT", tt.env)
			}
			var got string
			app := &cli.App{
				Name:           "kad",
				ExitErrHandler: func(*cli.Context, error) {},
				Writer:         &bytes.Buffer{},
				ErrWriter:      &bytes.Buffer{},
				Flags:          []cli.Flag{logFormatFlag()},
				Action: func(c *cli.Context) error {
					var err error
					got, err = parseLogFormat(c.String("log-format"))
					return err
				},
			}
			if err := app.Run(append([]string{"kad"}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("format %q, want %q", got, tt.want)
			}
		})
	}
}
