package mem

import "errors"

// ErrAddrInUse is returned by Listen for an address another transport on the same
// network listens at, and by NewTransport when no address is left.
var ErrAddrInUse = errors.New("address already in use")
