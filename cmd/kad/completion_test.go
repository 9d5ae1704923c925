package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// helperEnv makes this test binary run kad (TestKadHelper) instead of its tests.
const helperEnv = "KAD_TEST_RUN_KAD"

// TestKadHelper is kad itself when helperEnv is set: it runs the arguments after "--"
// as kad's and exits with kad's status. cli's completion reads os.Args, so it is tested
// in a process of its own, called as kad is.
func TestKadHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("runs kad for the completion tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Args = append([]string{"kad"}, args...)
	os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// kadScript writes an executable kad into a new directory that runs TestKadHelper, and
// returns the directory.
func kadScript(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\n" + helperEnv + "=1 exec '" + self + "' -test.run='^TestKadHelper$' -- \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "kad"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runIn runs name with args, with dir first on PATH, and returns its standard output.
func runIn(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v; stderr %q", name, args, err, stderr.String())
	}
	return string(out)
}

// TestGenerateCompletion checks what kad offers to the scripts.
func TestGenerateCompletion(t *testing.T) {
	dir := kadScript(t)
	tests := []struct {
		name string
		args []string
		want []string // among the lines offered
	}{
		{name: "commands", args: nil, want: []string{"node", "bench", "sim", "completion"}},
		{name: "flags of node", args: []string{"node", "--tr"}, want: []string{"--transport"}},
		{name: "shells", args: []string{"completion"}, want: completionShells},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runIn(t, dir, filepath.Join(dir, "kad"), append(tt.args, "--generate-bash-completion")...)
			lines := strings.Fields(out)
			for _, w := range tt.want {
				if !slices.Contains(lines, w) {
					t.Errorf("kad %q --generate-bash-completion offers %q, not %q", tt.args, lines, w)
				}
			}
		})
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, tt := range []struct{ shell, want string }{
		{"bash", "complete -o default -F _kad_complete kad"},
		{"zsh", "compdef _kad kad"},
		{"fish", "complete -r -c kad -n '__fish_kad_no_subcommand' -a 'node'"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"kad", "completion", tt.shell}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
			t.Errorf("kad completion %s: exit status %d, stderr %q", tt.shell, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.want) {
			t.Errorf("kad completion %s: script lacks %q:\n%s", tt.shell, tt.want, stdout.String())
		}
		if strings.Contains(stdout.String(), "`") {
			t.Errorf("kad completion %s: a backquote in the script", tt.shell)
		}
	}
	wantUsageError(t, []string{"kad", "completion", "tcsh"}, `completion "tcsh": want bash, zsh, fish`)
	wantUsageError(t, []string{"kad", "completion"}, "completion takes one shell")
	wantUsageError(t, []string{"kad", "completion", "bash", "zsh"}, "completion takes one shell")
}

// TestBashCompletion sources the bash script and completes as bash would, calling kad.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := kadScript(t)
	script := filepath.Join(dir, "kad.bash")
	if err := os.WriteFile(script, []byte(bashCompletion), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		words []string // the last is the word under the cursor
		want  []string
	}{
		{name: "a command", words: []string{"kad", "no"}, want: []string{"node"}},
		{name: "all commands", words: []string{"kad", ""}, want: []string{"bench", "completion", "node", "sim"}},
		{name: "a flag", words: []string{"kad", "node", "--transp"}, want: []string{"--transport"}},
		{name: "a shell", words: []string{"kad", "completion", "z"}, want: []string{"zsh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kad_complete; printf '%s\n' "${COMPREPLY[@]}"`
			out := runIn(t, dir, bash, append([]string{"-c", prog, "bash", script}, tt.words...)...)
			got := strings.Fields(out)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) && !(tt.name == "all commands" && containsAll(got, tt.want)) {
				t.Errorf("completing %q: %q, want %q", tt.words, got, tt.want)
			}
		})
	}
}

func containsAll(got, want []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// TestZshCompletion runs the zsh script's function with zsh's completion builtins
// replaced by ones that print what they are given.
func TestZshCompletion(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh")
	}
	dir := kadScript(t)
	script := filepath.Join(dir, "kad.zsh")
	if err := os.WriteFile(script, []byte(zshCompletion), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := `compdef() { :; }; compadd() { print -l -- "${(@P)2}"; }; _files() { print FILES; }
source "$1"; shift; words=("$@"); CURRENT=$#; _kad`
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"kad", "no"}, "node"},
		{[]string{"kad", "node", "--transp"}, "--transport"},
		{[]string{"kad", "node", "--transport", ""}, "FILES"},
	} {
		out := runIn(t, dir, zsh, append([]string{"-f", "-c", prog, "zsh", script}, tt.words...)...)
		if !slices.Contains(strings.Fields(out), tt.want) {
			t.Errorf("completing %q: %q, want %q among them", tt.words, out, tt.want)
		}
	}
}

// TestFishCompletion loads the fish script and asks fish to complete.
func TestFishCompletion(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("no fish")
	}
	var script bytes.Buffer
	if err := writeCompletion(newApp(), "fish", &script); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "kad.fish")
	if err := os.WriteFile(path, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ line, want string }{
		{"kad no", "node"},
		{"kad node --transp", "--transport"},
	} {
		out := runIn(t, dir, fish, "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", path, tt.line)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			got = append(got, strings.SplitN(l, "\t", 2)[0])
		}
		if !slices.Contains(got, tt.want) {
			t.Errorf("completing %q: %q, want %q among them", tt.line, got, tt.want)
		}
	}
}
