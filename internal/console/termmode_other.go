//go:build !linux

package console

import "golang.org/x/term"

// editMode puts the terminal at fd in raw mode and returns what puts it back. Unlike on
// Linux, output processing is off too while the console edits lines, and Ctrl-Z does
// not suspend the process; resized is never called.
func editMode(fd int, resized func()) (restore func() error, err error) {
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	return func() error { return term.Restore(fd, old) }, nil
}
