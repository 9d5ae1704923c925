package integration

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWarmRestart: a node with --data-dir, stopped with SIGTERM or killed with SIGKILL,
// starts again with no flag but --data-dir as itself, at the same address, and with a
// warm routing table: it rejoins through the contacts it saved, finds at once a value
// put while it was down, and its own put reaches the others again.
func TestWarmRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, transport := range transportNames {
		for _, kill := range []bool{false, true} {
			name := transport + "/sigterm"
			if kill {
				name = transport + "/sigkill"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testWarmRestart(t, transport, kill)
			})
		}
	}
}

func testWarmRestart(t *testing.T, transport string, kill bool) {
	args := nodeArgs(transport)
	b := startNode(t, "b", args...)
	c := startNode(t, "c", append(args, "--bootstrap", b.contact().String())...)
	dir := filepath.Join(t.TempDir(), "kad")
	withDir := append(append([]string(nil), args...), "--data-dir", dir)
	a := startNode(t, "a", append(withDir, "--bootstrap", b.contact().String())...)
	if got := a.doFinal("put colour ultramarine"); got != "stored on 3 nodes" {
		t.Fatalf("put before the restart: %q", got)
	}
	if kill {
		if err := a.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.wait(killTimeout); err != nil {
			t.Fatal(err)
		}
		if ws, ok := a.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("a ended with %v, not by SIGKILL", a.cmd.ProcessState)
		}
	} else {
		a.stop()
	}
	// While a is down: a value only b and c hold.
	if got := c.doFinal("put shape dodecahedron"); got != "stored on 2 nodes" {
		t.Fatalf("put while a is down: %q", got)
	}

	again := startNode(t, "a-again", withDir...)
	if again.id != a.id || again.addr != a.addr {
		t.Fatalf("restarted as %s, want %s", again.contact(), a.contact())
	}
	if got := again.doFinal("get shape"); got != "value dodecahedron" {
		t.Errorf("get after the restart, with no bootstrap flag: %q", got)
	}
	if got := again.doFinal("get colour"); got != "value ultramarine" {
		t.Errorf("get of the record held before the restart: %q", got)
	}
	if got := again.doFinal("put size large"); got != "stored on 3 nodes" {
		t.Errorf("put after the restart: %q", got)
	}
	if got := b.doFinal("get size"); got != "value large" {
		t.Errorf("get from b of what a put after the restart: %q", got)
	}
	again.stop()
	c.stop()
	b.stop()
}

// treeSums returns the SHA-256 of every file under dir, by path, but for the lock file,
// which is not data: each node that takes the lock writes its process ID there.
func treeSums(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == filepath.Join(dir, "lock") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sums[path] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// wantUnchanged checks that dir holds exactly the files of before, each unchanged.
func wantUnchanged(t *testing.T, dir string, before map[string][32]byte) {
	t.Helper()
	after := treeSums(t, dir)
	for path, sum := range before {
		if got, ok := after[path]; !ok {
			t.Errorf("%s was deleted", path)
		} else if got != sum {
			t.Errorf("%s was changed", path)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("%s was created", path)
		}
	}
}

// preparedDir returns a data directory a node has used and left, with one record.
func preparedDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kad")
	p := startNode(t, "prepare", "--data-dir", dir, "--timeout", cmdTimeout.String())
	if got := p.doFinal("put colour ultramarine"); got != "stored on 1 node" {
		t.Fatalf("put: %q", got)
	}
	p.stop()
	return dir
}

// TestDataDirRefused: a data directory in use by another node, one of another network,
// one whose routing-table snapshot or record database is damaged, and one on a read-only
// file system are each
// refused with one line naming the problem and exit status 2, and nothing in them is
// changed.
func TestDataDirRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Run("in use", func(t *testing.T) {
		dir := preparedDir(t)
		owner := startNode(t, "owner", "--data-dir", dir)
		owner.doFinal("id") // once it answers, it has saved its snapshot of the start
		before := treeSums(t, dir)
		wantFailure(t, startProc(t, "second", "node", "--data-dir", dir), dir, "in use by another node", fmt.Sprintf("process %d", owner.cmd.Process.Pid))
		wantUnchanged(t, dir, before)
		if got := owner.doFinal("get colour"); got != "value ultramarine" {
			t.Errorf("the owner, after the refused start: %q", got)
		}
		owner.stop()
	})
	t.Run("damaged snapshot", func(t *testing.T) {
		dir := preparedDir(t)
		snap := filepath.Join(dir, "contacts.json")
		if err := os.WriteFile(snap, []byte(`{"version":1,"id":"0011`), 0o600); err != nil {
			t.Fatal(err)
		}
		before := treeSums(t, dir)
		wantFailure(t, startProc(t, "damaged-snapshot", "node", "--data-dir", dir), snap, "corrupt", "move it away")
		wantUnchanged(t, dir, before)
	})
	t.Run("another network", func(t *testing.T) {
		dir := preparedDir(t) // of the public network
		before := treeSums(t, dir)
		wantFailure(t, startProc(t, "other-network", "node", "--data-dir", dir, "--network", "alpha"), dir, `belongs to the network "public", not "alpha"`)
		wantUnchanged(t, dir, before)
	})
	t.Run("damaged database", func(t *testing.T) {
		dir := preparedDir(t)
		manifests, _ := filepath.Glob(filepath.Join(dir, "records", "MANIFEST-*"))
		if len(manifests) == 0 {
			t.Fatal("no MANIFEST in the record database")
		}
		for _, m := range manifests {
			if err := os.WriteFile(m, []byte("not a manifest at all, but the same garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		before := treeSums(t, dir)
		wantFailure(t, startProc(t, "damaged-db", "node", "--data-dir", dir), filepath.Join(dir, "records"))
		wantUnchanged(t, dir, before)
	})
	t.Run("read-only", func(t *testing.T) {
		unshare, err := exec.LookPath("unshare")
		if err != nil || os.Geteuid() != 0 {
			t.Skip("needs root and unshare(1) to mount the directory read-only in a mount namespace of its own")
		}
		dir := preparedDir(t)
		before := treeSums(t, dir)
		// The read-only bind mount exists only in the namespace of this one process.
		script := `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" node --data-dir "$1"`
		ro := startCommand(t, "read-only", unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", dir, kadBin)
		line := wantFailure(t, ro, dir)
		if !strings.Contains(line, "read-only") && !strings.Contains(line, "cannot be written") {
			t.Errorf("stderr %q does not say the directory cannot be written", line)
		}
		wantUnchanged(t, dir, before)
	})
}
