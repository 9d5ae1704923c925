// Package pebble is a store.Store kept on disk in a Pebble database (an LSM tree, the
// storage engine of CockroachDB), so that a node's records survive a restart.
//
//	s, err := pebble.Open(filepath.Join(dataDir, "records"), pebble.Options{})
//	...
//	defer s.Close() // after the node's Close
//	n, err := node.New(node.Config{Store: s}, tr)
//
// Each record is one key, "r" followed by its 20-byte key, whose value is a version byte
// (1), the expiry and the time it was stored as Unix nanoseconds (8 bytes big-endian each),
// the 20-byte ID of the node that last stored it, then the value. The records the node
// published (Published, for node.Config.Published) are kept the same way under "p".
//
// # Durability
//
// Put and Delete return once their write is in Pebble's write-ahead log, and how far it
// has gone by then depends on Options.Sync:
//
//   - By default the log is written to the operating system (write(2)) but not synced.
//     A write that returned survives the process crashing or being killed (kill -9): the
//     kernel holds it, and the next Open reads it. A crash of the machine, or a power
//     cut, loses what the kernel had not yet written back to the disk (Linux writes
//     dirty pages back within about 30 s): the store opens with the writes up to some
//     point before the crash. Should the kernel have written the log's pages out of
//     order, Open fails instead with Pebble's corruption error.
//   - With Options.Sync the log is also synced (fdatasync) before a write returns, so a
//     write that returned survives a crash of the machine too.
//
// A write waits for that system call: a write(2) of a few microseconds by default; a
// sync of the disk with Options.Sync, about a millisecond on the machine of BENCHMARKS.md
// and more on a spinning disk. Writers running at the same time share one call, since
// Pebble writes, and syncs, the log once for all the records queued in it: with many
// writers, a write costs a fraction of one call. BENCHMARKS.md has the figures.
//
// Get may return a record whose Put has not returned yet; a crash can lose such a record.
package pebble
