package pebble

import pdb "github.com/cockroachdb/pebble/v2"

// OpenNoSync opens a store whose writes use pdb.NoSync, as the store's did when a
// returned write could still be in the process's memory: the benchmarks' baseline.
func OpenNoSync(dir string) (*Store, error) { return open(dir, Options{}, pdb.NoSync) }
