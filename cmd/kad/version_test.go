package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "3bccccc1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8"
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{name: "release", ok: true, info: &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}},
			want: "kad v0.1.0"},
		{name: "checkout", ok: true, info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-02T05:00:00Z", "vcs.modified", "false")},
			want: "kad (devel) rev 3bccccc1d2e4 2026-12-02T05:00:00Z"},
		{name: "modified checkout", ok: true, info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", rev, "vcs.time", "2026-12-02T05:00:00Z", "vcs.modified", "true")},
			want: "kad (devel) rev 3bccccc1d2e4 2026-12-02T05:00:00Z modified"},
		{name: "pseudo-version with its commit", ok: true,
			info: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202050000-3bccccc1d2e4+dirty"},
				Settings: vcs("vcs.revision", rev, "vcs.modified", "true")},
			want: "kad v0.0.0-20261202050000-3bccccc1d2e4+dirty rev 3bccccc1d2e4 modified"},
		{name: "short revision", ok: true, info: &debug.BuildInfo{Settings: vcs("vcs.revision", "3bcc")},
			want: "kad (devel) rev 3bcc"},
		{name: "no stamping", ok: true, info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want: "kad (devel)"},
		{name: "no build information", ok: false, want: "kad (devel)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.info, tt.ok); got != tt.want {
				t.Errorf("versionLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"kad", "--version"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit status %d, stderr %q", code, stderr.String())
	}
	info, ok := debug.ReadBuildInfo()
	if want := versionLine(info, ok) + "\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want nothing", stderr.String())
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"kad", "--help"}, strings.NewReader(""), &stdout, &stderr); code != exitOK ||
		!strings.Contains(stdout.String(), "--version") {
		t.Errorf("kad --help (status %d) does not offer --version: %q", code, stdout.String())
	}
}
