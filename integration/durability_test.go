package integration

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
)

// TestKilledNodeKeepsRecords: a node with --data-dir, killed with SIGKILL the moment it
// answers its last put, restarts with every record it said it stored. With no peers a
// node's get reads its own store first, so each get shows what the store kept.
func TestKilledNodeKeepsRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const records = 20
	dir := filepath.Join(t.TempDir(), "kad")
	args := []string{"--transport", "udp", "--data-dir", dir, "--timeout", cmdTimeout.String()}
	first := startNode(t, "killed", args...)
	for i := range records {
		if got := first.doFinal(fmt.Sprintf("put key-%d value %d", i, i)); got != "stored on 1 node" {
			t.Fatalf("put %d: %q", i, got)
		}
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	if _, err := first.wait(killTimeout); err != nil {
		t.Fatal(err)
	}
	if ws, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s ended with %v, not by SIGKILL", first.name, first.cmd.ProcessState)
	}

	again := startNode(t, "killed-again", args...)
	if again.id != first.id {
		t.Fatalf("restarted as %s, want %s", again.id, first.id)
	}
	kept := 0
	for i := range records {
		want := fmt.Sprintf("value value %d", i)
		if got := again.doFinal(fmt.Sprintf("get key-%d", i)); got == want {
			kept++
		} else {
			t.Logf("get key-%d after SIGKILL: %q, want %q", i, got, want)
		}
	}
	if kept != records {
		t.Errorf("after SIGKILL the node kept %d of the %d records it stored", kept, records)
	}
	again.stop()
}
