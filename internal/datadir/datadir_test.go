package datadir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"kad/protocol"
)

func open(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestOpenLocks: a directory is created with mode 0700, and while one Dir holds it a
// second Open fails with ErrInUse naming the holder; after Close it opens again.
func TestOpenLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b")
	d := open(t, path)
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("stat %s: %v, %v", path, fi, err)
	}
	_, err = Open(path)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
	if want := fmt.Sprintf("(process %d)", os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open: %q, want the directory and %q", err, want)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	again := open(t, path)
	if again.Path() != path || again.KeyFile() != filepath.Join(path, "node.key") || again.RecordsDir() != filepath.Join(path, "records") {
		t.Errorf("paths %s, %s, %s", again.Path(), again.KeyFile(), again.RecordsDir())
	}
}

// TestOpenRefuses: a file where the directory should be, and a directory whose lock
// cannot be created, fail with one line naming the path, and leave what is there.
func TestOpenRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil || !strings.Contains(err.Error(), "not a directory") || !strings.Contains(err.Error(), file) {
		t.Errorf("Open of a file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "mine" {
		t.Errorf("the file now holds %q", b)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "lock"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "cannot be written") {
		t.Errorf("Open with a directory for a lock file: %v", err)
	}
}

func testSnapshot() Snapshot {
	s := Snapshot{
		Saved: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), ID: protocol.KeyFromString("self"),
		Addr: netip.MustParseAddrPort("127.0.0.1:4000"), Transport: "udp", Network: "acme",
	}
	for i := range 30 {
		s.Contacts = append(s.Contacts, protocol.Contact{
			ID:   protocol.KeyFromString(fmt.Sprint("contact ", i)),
			Addr: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(5000+i)),
		})
	}
	s.Contacts = append(s.Contacts, protocol.Contact{ID: protocol.KeyFromString("v6"), Addr: netip.MustParseAddrPort("[2001:db8::1]:4001")})
	return s
}

// TestSnapshotRoundTrip: no snapshot is not an error; a saved one reads back equal, and
// saving again replaces it whole.
func TestSnapshotRoundTrip(t *testing.T) {
	d := open(t, t.TempDir())
	if _, found, err := d.LoadSnapshot(); found || err != nil {
		t.Fatalf("no snapshot yet: found %v, %v", found, err)
	}
	want := testSnapshot()
	if err := d.SaveSnapshot(want); err != nil {
		t.Fatal(err)
	}
	got, found, err := d.LoadSnapshot()
	if err != nil || !found {
		t.Fatalf("load: %v, %v", found, err)
	}
	if !got.Saved.Equal(want.Saved) || got.ID != want.ID || got.Addr != want.Addr || got.Transport != want.Transport || got.Network != want.Network || len(got.Contacts) != len(want.Contacts) {
		t.Fatalf("load: %+v, want %+v", got, want)
	}
	for i := range want.Contacts {
		if got.Contacts[i] != want.Contacts[i] {
			t.Errorf("contact %d: %v, want %v", i, got.Contacts[i], want.Contacts[i])
		}
	}
	want.Contacts = want.Contacts[:1]
	if err := d.SaveSnapshot(want); err != nil {
		t.Fatal(err)
	}
	if got, _, err := d.LoadSnapshot(); err != nil || len(got.Contacts) != 1 {
		t.Fatalf("after a second save: %d contacts, %v", len(got.Contacts), err)
	}
	if fi, err := os.Stat(d.SnapshotFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file: %v, %v; want mode 0600", fi, err)
	}
	if ents, _ := os.ReadDir(d.Path()); len(ents) != 2 { // lock and contacts.json: no temporary left
		t.Errorf("directory holds %v", ents)
	}
}

// TestSnapshotCorrupt: a damaged snapshot fails with ErrCorrupt naming the file and what
// is wrong, and is left as it was.
func TestSnapshotCorrupt(t *testing.T) {
	good := testSnapshot()
	for _, c := range []struct {
		name, data, want string
	}{
		{"truncated", `{"version":1,"id":"`, "unexpected end"},
		{"not JSON", "\x00\x01binary", "invalid character"},
		{"version", `{"version":7,"id":"` + good.ID.String() + `"}`, "version 7, want 1"},
		{"no ID", `{"version":1}`, "no node ID"},
		{"bad contact ID", `{"version":1,"id":"` + good.ID.String() + `","contacts":[{"id":"zz","addr":"127.0.0.1:1"}]}`, "contacts"},
		{"zero port", `{"version":1,"id":"` + good.ID.String() + `","contacts":[{"id":"` + good.ID.String() + `","addr":"127.0.0.1:0"}]}`, "contact 0"},
		{"too large", strings.Repeat(" ", maxSnapshot+1), "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := open(t, t.TempDir())
			if err := os.WriteFile(d.SnapshotFile(), []byte(c.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, found, err := d.LoadSnapshot()
			if !errors.Is(err, ErrCorrupt) || found || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), d.SnapshotFile()) {
				t.Errorf("load: found %v, %v; want ErrCorrupt naming the file and %q", found, err, c.want)
			}
			if b, _ := os.ReadFile(d.SnapshotFile()); !bytes.Equal(b, []byte(c.data)) {
				t.Error("the damaged snapshot was changed")
			}
		})
	}
}

// TestKeepSnapshot: the snapshot is saved every interval with what take returns then,
// and saving stops when the context ends.
func TestKeepSnapshot(t *testing.T) {
	d := open(t, t.TempDir())
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		saves := 0
		take := func() Snapshot {
			saves++
			s := testSnapshot()
			s.Contacts = s.Contacts[:saves]
			return s
		}
		done := make(chan struct{})
		go func() {
			d.KeepSnapshot(ctx, time.Minute, take, slog.New(slog.DiscardHandler))
			close(done)
		}()
		time.Sleep(3*time.Minute + time.Second)
		synctest.Wait()
		s, found, err := d.LoadSnapshot()
		if err != nil || !found || len(s.Contacts) != 3 {
			t.Fatalf("after 3 minutes: %d contacts, found %v, %v; want the third save's 3", len(s.Contacts), found, err)
		}
		cancel()
		<-done
		time.Sleep(5 * time.Minute)
		if saves != 3 {
			t.Errorf("%d saves, want 3: saving went on after the context ended", saves)
		}
	})
}
