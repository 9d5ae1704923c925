//go:build !unix

package datadir

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// lockFile does nothing where flock is missing: the record database's own lock still
// keeps a second node out, with Pebble's message.
func lockFile(*os.File) error { return nil }
