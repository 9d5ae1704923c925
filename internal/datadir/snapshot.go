package datadir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"kad/protocol"
)

// snapshotVersion is the version of contacts.json this package writes and reads.
const snapshotVersion = 1

// maxSnapshot bounds the size of contacts.json: a routing table of 160 full buckets of
// 64 contacts is about 1 MiB of it.
const maxSnapshot = 4 << 20

// Snapshot is what the node saves of itself and its routing table for its next start.
type Snapshot struct {
	Saved     time.Time
	ID        protocol.ID    // the node's own ID
	Addr      netip.AddrPort // the address it listened on
	Transport string         // the transport it ran over: its contacts' addresses are for it
	Network   string         // the kad network it belonged to; "" for the public one
	Contacts  []protocol.Contact
}

// snapshotFile is contacts.json.
type snapshotFile struct {
	Version   int            `json:"version"`
	Saved     time.Time      `json:"saved"`
	ID        protocol.ID    `json:"id"`
	Addr      netip.AddrPort `json:"addr"`
	Transport string         `json:"transport"`
	Network   string         `json:"network,omitempty"`
	Contacts  []contactEntry `json:"contacts"`
}

type contactEntry struct {
	ID   protocol.ID    `json:"id"`
	Addr netip.AddrPort `json:"addr"`
}

// LoadSnapshot reads the snapshot the node saved last. found is false, with no error,
// when there is none. A snapshot that cannot be read fails with an error matching
// ErrCorrupt that names the file; the file is left as it is.
func (d *Dir) LoadSnapshot() (s Snapshot, found bool, err error) {
	path := d.SnapshotFile()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("routing table snapshot %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSnapshot+1))
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("routing table snapshot %s: %w", path, err)
	}
	s, err = decodeSnapshot(data)
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("routing table snapshot %s: %w: %w (move it away to start without it)", path, ErrCorrupt, err)
	}
	return s, true, nil
}

// decodeSnapshot reads and checks contacts.json.
func decodeSnapshot(data []byte) (Snapshot, error) {
	if len(data) > maxSnapshot {
		return Snapshot{}, fmt.Errorf("larger than %d bytes", maxSnapshot)
	}
	var sf snapshotFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return Snapshot{}, err
	}
	if sf.Version != snapshotVersion {
		return Snapshot{}, fmt.Errorf("version %d, want %d", sf.Version, snapshotVersion)
	}
	if sf.ID.IsZero() {
		return Snapshot{}, errors.New("no node ID")
	}
	s := Snapshot{Saved: sf.Saved, ID: sf.ID, Addr: sf.Addr, Transport: sf.Transport, Network: sf.Network,
		Contacts: make([]protocol.Contact, 0, len(sf.Contacts))}
	for i, c := range sf.Contacts {
		if c.ID.IsZero() {
			return Snapshot{}, fmt.Errorf("contact %d: no ID", i)
		}
		if err := protocol.CheckAddr(c.Addr); err != nil {
			return Snapshot{}, fmt.Errorf("contact %d: %w", i, err)
		}
		s.Contacts = append(s.Contacts, protocol.Contact{ID: c.ID, Addr: c.Addr})
	}
	return s, nil
}

// SaveSnapshot writes s in place of the last snapshot, through a temporary file synced to
// the disk and renamed, so that the file always holds one whole snapshot.
func (d *Dir) SaveSnapshot(s Snapshot) error {
	sf := snapshotFile{Version: snapshotVersion, Saved: s.Saved.UTC(), ID: s.ID, Addr: s.Addr,
		Transport: s.Transport, Network: s.Network, Contacts: make([]contactEntry, len(s.Contacts))}
	for i, c := range s.Contacts {
		sf.Contacts[i] = contactEntry{ID: c.ID, Addr: c.Addr}
	}
	data, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return fmt.Errorf("routing table snapshot: %w", err)
	}
	if err := writeFileAtomic(d.SnapshotFile(), append(data, '\n')); err != nil {
		return fmt.Errorf("routing table snapshot %s: %w", d.SnapshotFile(), err)
	}
	return nil
}

// writeFileAtomic replaces path with data, mode 0600, so that path holds either its old
// contents or data, even after a crash of the machine.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename itself reaches the disk with the directory.
	if df, err := os.Open(dir); err == nil {
		df.Sync()
		df.Close()
	}
	return nil
}

// KeepSnapshot saves take() every interval until ctx ends, logging a failed save as a
// warning (the node goes on; the last whole snapshot stays). The caller saves once more
// on shutdown.
func (d *Dir) KeepSnapshot(ctx context.Context, every time.Duration, take func() Snapshot, log *slog.Logger) {
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.SaveSnapshot(take()); err != nil {
				log.Warn("saving the routing table", "err", err)
			}
			t.Reset(every)
		}
	}
}
