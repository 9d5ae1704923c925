package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"kad/internal/datadir"
	"kad/node"
	"kad/protocol"
	"kad/store/pebble"
	"kad/transports"
)

// snapshotInterval is how often a node with a data directory saves its routing table,
// besides once it has joined and on shutdown: a node killed with SIGKILL rejoins through
// contacts at most this old. A save is one small file written and synced.
const snapshotInterval = time.Minute

// dataDir is what `kad node --data-dir` opened: the directory (locked), the record
// database, and the routing-table snapshot of the last run, if any.
type dataDir struct {
	dir     *datadir.Dir
	records *pebble.Store
	snap    datadir.Snapshot
	found   bool // snap holds a snapshot
}

// openDataDir opens the data directory the flags name, reads its snapshot, then opens
// its record database. It writes nothing but the lock before all three are known good,
// and on failure it closes what it opened; its error names the directory or file.
func openDataDir(f nodeFlags, logger *slog.Logger) (*dataDir, error) {
	d, err := datadir.Open(f.dataDir)
	if err != nil {
		return nil, err
	}
	dd := &dataDir{dir: d}
	if dd.snap, dd.found, err = d.LoadSnapshot(); err != nil {
		d.Close()
		return nil, err
	}
	// Its records, and those it republishes, are that network's.
	if dd.found && dd.snap.Network != f.network {
		d.Close()
		return nil, fmt.Errorf("data directory %s: belongs to the network %q, not %q: use --network %s, or another directory",
			f.dataDir, networkName(dd.snap.Network), networkName(f.network), networkName(dd.snap.Network))
	}
	if dd.records, err = pebble.Open(d.RecordsDir(), pebble.Options{Logger: logger, Sync: f.sync}); err != nil {
		d.Close()
		return nil, err
	}
	return dd, nil
}

// close closes the record database, then releases the directory.
func (dd *dataDir) close() {
	dd.records.Close()
	dd.dir.Close()
}

// listen opens the transport the flags ask for. A node restarted with a data directory
// and a --bind of port 0 listens at the port it had before, if it can, so that the
// contacts that knew it find it there again.
func (dd *dataDir) listen(f nodeFlags, key ed25519.PrivateKey, logger *slog.Logger) (transports.Transport, error) {
	if dd != nil && dd.found && dd.snap.Transport == f.transport {
		if host, port, err := net.SplitHostPort(f.bind); err == nil && port == "0" {
			if ip, err := netip.ParseAddr(host); err == nil && ip == dd.snap.Addr.Addr() {
				tr, err := listen(f, dd.snap.Addr.String(), key, logger)
				if err == nil {
					return tr, nil
				}
				logger.Warn("the port of the last run is taken; listening on another", "addr", dd.snap.Addr, "err", err)
			}
		}
	}
	return listen(f, f.bind, key, logger)
}

// savedContacts returns the contacts of the last run's routing table, when they are for
// this transport.
func (dd *dataDir) savedContacts(n *node.Node, transport string, logger *slog.Logger) []protocol.Contact {
	if dd == nil || !dd.found {
		return nil
	}
	if dd.snap.Transport != transport {
		logger.Warn("the saved contacts are for another transport: not used", "saved", dd.snap.Transport, "transport", transport)
		return nil
	}
	out := make([]protocol.Contact, 0, len(dd.snap.Contacts))
	for _, c := range dd.snap.Contacts {
		if c.ID != n.ID() && c.Addr != n.Addr() {
			out = append(out, c)
		}
	}
	return out
}

// join bootstraps n through the --bootstrap nodes and the contacts saved in the data
// directory. It fails only when --bootstrap nodes were given and nothing answered: a
// node rejoining through saved contacts alone runs on if none answers (the network may
// have moved on, or be down), and others may still join through it.
func join(ctx context.Context, n *node.Node, f nodeFlags, dd *dataDir, logger *slog.Logger) error {
	saved := dd.savedContacts(n, f.transport, logger)
	if len(f.bootstrap) == 0 && len(saved) == 0 {
		return nil
	}
	bctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	err := n.Bootstrap(bctx, append(append([]protocol.Contact(nil), f.bootstrap...), saved...)...)
	switch {
	case err == nil:
		logger.Info("bootstrapped", "contacts", len(n.Contacts()), "saved", len(saved))
		return nil
	case len(f.bootstrap) == 0 && ctx.Err() == nil:
		logger.Warn("no saved contact answered; running alone until a node calls", "saved", len(saved), "err", err)
		return nil
	}
	// The node's error names the address, and for a wrong ID both IDs
	// ("id mismatch: got X, want Y").
	return err
}

// snapshot is what a node with a data directory saves of itself.
func snapshot(n *node.Node, transport, network string) datadir.Snapshot {
	return datadir.Snapshot{Saved: time.Now(), ID: n.ID(), Addr: n.Addr(), Transport: transport, Network: network, Contacts: n.Contacts()}
}

// networkName names a network as --network does.
func networkName(network string) string {
	if network == "" {
		return transports.PublicNetwork
	}
	return network
}
