package integration

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// runKad runs `kad args...` to its end and returns its standard output, standard error
// and exit status.
func runKad(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(kadBin, args...)
	cmd.Env = cleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = killTimeout
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("kad %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// wantRun runs kad and checks its exit status and that its standard output is want.
func wantRun(t *testing.T, want string, wantCode int, args ...string) string {
	t.Helper()
	out, errOut, code := runKad(t, append(args[:1:1], append([]string{"--timeout", cmdTimeout.String()}, args[1:]...)...)...)
	if code != wantCode || out != want {
		t.Errorf("kad %s: exit %d, stdout %q (stderr %q); want exit %d, stdout %q", strings.Join(args, " "), code, out, errOut, wantCode, want)
	}
	return errOut
}

// TestClientCommands: kad put, get, lookup, ping and status against a node's API, and as
// one-shot clients that join through a node for one command, over each transport.
func TestClientCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, transport := range transportNames {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			nodes := startCluster(t, transport, 3)
			served := startNode(t, "served", append(nodeArgs(transport), "--api", "127.0.0.1:0", "--bootstrap", nodes[0].contact().String())...)
			line, err := served.readLine(startTimeout)
			if err != nil || !strings.HasPrefix(line, "api http://127.0.0.1:") {
				t.Fatalf("the line after the node line: %q, %v; want api http://127.0.0.1:PORT", line, err)
			}
			api := strings.TrimPrefix(line, "api ")
			served.doFinal("id") // joined

			wantRun(t, "stored on 4 nodes\n", 0, "put", "--api", api, "colour", "vermilion")
			wantRun(t, "vermilion\n", 0, "get", "--api", api, "colour")
			if errOut := wantRun(t, "", 1, "get", "--api", api, "no such key"); !strings.Contains(errOut, "not found") {
				t.Errorf("get of a missing key: stderr %q", errOut)
			}
			if got := nodes[2].doFinal("get colour"); got != "value vermilion" {
				t.Errorf("get from another node of what kad put stored: %q", got)
			}
			out, _, code := runKad(t, "lookup", "--api", api, "colour")
			if code != 0 || len(strings.Fields(out)) != 3 { // the others: a lookup never returns its own node
				t.Errorf("lookup: exit %d, %q; want the 3 other nodes", code, out)
			}
			out, _, code = runKad(t, "ping", "--api", api, nodes[1].contact().String())
			if want := "pong " + nodes[1].contact().String() + " in "; code != 0 || !strings.HasPrefix(out, want) {
				t.Errorf("ping: exit %d, %q; want %q…", code, out, want)
			}
			out, _, code = runKad(t, "status", "--api", api)
			if code != 0 || !strings.Contains(out, served.id.String()) {
				t.Errorf("status: exit %d, %q; want the node's ID", code, out)
			}

			// One-shot clients: no API, a node of their own for one command.
			seed := nodes[1].contact().String()
			wantRun(t, "stored on 4 nodes\n", 0, "put", "--transport", transport, "--bootstrap", seed, "shape", "torus")
			wantRun(t, "torus\n", 0, "get", "--transport", transport, "--bootstrap", seed, "shape")
			wantRun(t, "vermilion\n", 0, "get", "--transport", transport, "--bootstrap", seed, "colour")
			wantRun(t, "", 1, "get", "--transport", transport, "--bootstrap", seed, "no such key")
			if got := served.doFinal("get shape"); got != "value torus" {
				t.Errorf("get through the console of what a one-shot client put: %q", got)
			}
			// A one-shot client enters no routing table.
			for _, p := range append(nodes, served) {
				if n := len(p.contacts("table")); n != 3 {
					t.Errorf("%s: %d contacts after the one-shot clients, want the 3 other nodes", p.name, n)
				}
			}
			for _, p := range append(nodes, served) {
				p.stop()
			}
		})
	}
}
