package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		in, want string
		bad      string // what a usage error names, if any
	}{
		{in: "public", want: ""},
		{in: "", want: ""},
		{in: "alpha", want: "alpha"},
		{in: "corp.example-1_a", want: "corp.example-1_a"},
		{in: "Alpha", bad: `"Alpha"`},
		{in: "PUBLIC", bad: `"PUBLIC"`},
		{in: "-alpha", bad: `"-alpha"`},
		{in: "al pha", bad: `"al pha"`},
		{in: strings.Repeat("x", 33), bad: "33 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseNetwork(tt.in)
			if tt.bad == "" {
				if err != nil || got != tt.want {
					t.Errorf("parseNetwork(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			var ec cli.ExitCoder
			if !errors.As(err, &ec) || ec.ExitCode() != exitUsage {
				t.Fatalf("parseNetwork(%q): %v, want a usage error", tt.in, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "--network: ") || !strings.Contains(msg, tt.bad) {
				t.Errorf("parseNetwork(%q): %q, want it to start --network and name %s", tt.in, msg, tt.bad)
			}
		})
	}
}

// TestNetworkFlag checks the flag's default, its variable, and that the flag wins.
func TestNetworkFlag(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{name: "default", want: ""},
		{name: "variable", env: "alpha", want: "alpha"},
		{name: "flag", args: []string{"--network", "beta"}, want: "beta"},
		{name: "flag over variable", env: "alpha", args: []string{"--network=public"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("KAD_NETWORK", tt.env)
			}
			got := "unset"
			app := &cli.App{
				Name:           "kad",
				ExitErrHandler: func(*cli.Context, error) {},
				Writer:         &bytes.Buffer{},
				ErrWriter:      &bytes.Buffer{},
				Flags:          []cli.Flag{networkFlag()},
				Action: func(c *cli.Context) error {
					var err error
					got, err = parseNetwork(c.String("network"))
					return err
				},
			}
			if err := app.Run(append([]string{"kad"}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("network %q, want %q", got, tt.want)
			}
		})
	}
}
