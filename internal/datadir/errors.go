package datadir

import "errors"

var (
	// ErrInUse is returned by Open when another process holds the directory's lock.
	ErrInUse = errors.New("in use by another node")
	// ErrCorrupt is returned by LoadSnapshot for a snapshot that cannot be read.
	ErrCorrupt = errors.New("corrupt")
)
