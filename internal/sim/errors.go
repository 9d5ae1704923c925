package sim

import "errors"

// ErrOverMemory is the error of a run stopped because the process held more memory
// than Config.MaxMemory: the network fell behind the work its scenario asks for.
var ErrOverMemory = errors.New("over the memory bound")

// Errors of operations that returned without an error but did not succeed.
var (
	errWrongValue    = errors.New("wrong value")
	errMissedClosest = errors.New("the closest live node is not among the contacts returned")
)
