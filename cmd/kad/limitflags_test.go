package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"kad/node"
)

func TestLimitFlags(t *testing.T) {
	def := node.DefaultConfig()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want node.Config // the limits only
		bad  string      // what a usage error names, if any
	}{
		{name: "defaults", want: node.Config{MaxRecordsPerSender: def.MaxRecordsPerSender,
			MaxBytesPerSender: def.MaxBytesPerSender, MaxPublished: def.MaxPublished}},
		{name: "flags", args: []string{"--max-records-per-sender", "50", "--max-bytes-per-sender", "4096",
			"--max-published", "7", "--subnet-limits-everywhere"},
			want: node.Config{MaxRecordsPerSender: 50, MaxBytesPerSender: 4096, MaxPublished: 7, SubnetLimitsEverywhere: true}},
		{name: "no limits", args: []string{"--max-records-per-sender=-1", "--max-bytes-per-sender=-1", "--max-published=-1"},
			want: node.Config{MaxRecordsPerSender: -1, MaxBytesPerSender: -1, MaxPublished: -1}},
		{name: "variables", env: map[string]string{"KAD_MAX_RECORDS_PER_SENDER": "3", "KAD_SUBNET_LIMITS_EVERYWHERE": "true"},
			want: node.Config{MaxRecordsPerSender: 3, MaxBytesPerSender: def.MaxBytesPerSender, MaxPublished: def.MaxPublished, SubnetLimitsEverywhere: true}},
		{name: "zero", args: []string{"--max-records-per-sender", "0"}, bad: "--max-records-per-sender 0"},
		{name: "below -1", args: []string{"--max-bytes-per-sender=-2"}, bad: "--max-bytes-per-sender -2"},
		{name: "published zero", args: []string{"--max-published", "0"}, bad: "--max-published 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var cfg node.Config
			app := &cli.App{
				Name:           "kad",
				ExitErrHandler: func(*cli.Context, error) {},
				Writer:         &bytes.Buffer{},
				ErrWriter:      &bytes.Buffer{},
				Flags:          limitFlagList(),
				Action: func(c *cli.Context) error {
					l, err := parseLimitFlags(c)
					if err != nil {
						return err
					}
					l.apply(&cfg)
					return nil
				},
			}
			err := app.Run(append([]string{"kad"}, tt.args...))
			if tt.bad != "" {
				var ec cli.ExitCoder
				if !errors.As(err, &ec) || ec.ExitCode() != exitUsage || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("got %v, want a usage error naming %q", err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			type limits struct {
				records, published int
				bytes              int64
				everywhere         bool
			}
			got := limits{cfg.MaxRecordsPerSender, cfg.MaxPublished, cfg.MaxBytesPerSender, cfg.SubnetLimitsEverywhere}
			want := limits{tt.want.MaxRecordsPerSender, tt.want.MaxPublished, tt.want.MaxBytesPerSender, tt.want.SubnetLimitsEverywhere}
			if got != want {
				t.Errorf("limits %+v, want %+v", got, want)
			}
		})
	}
}
