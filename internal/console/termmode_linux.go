package console

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// editMode puts the terminal at fd in the mode the line editor needs and returns what
// puts it back. It is raw mode with two differences: output processing stays on, so
// that a newline written by anyone else (the logs on standard error) still starts a new
// line, and signals from keys stay on except for Ctrl-C and Ctrl-\, which reach the
// console as keys: Ctrl-Z still suspends the process. Until restore is called, resized
// is called when the terminal's size changes.
func editMode(fd int, resized func()) (restore func() error, err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	mode := *old
	mode.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	mode.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.IEXTEN
	mode.Lflag |= unix.ISIG
	mode.Cc[unix.VINTR] = 0 // 0 is _POSIX_VDISABLE on Linux
	mode.Cc[unix.VQUIT] = 0
	mode.Cc[unix.VMIN] = 1
	mode.Cc[unix.VTIME] = 0
	apply := func() error { return unix.IoctlSetTermios(fd, unix.TCSETS, &mode) }
	if err := apply(); err != nil {
		return nil, err
	}
	watch := watchTerminal(fd, apply, resized)
	return func() error {
		watch()
		return unix.IoctlSetTermios(fd, unix.TCSETS, old)
	}, nil
}

// watchTerminal puts the mode back with apply when the process continues after Ctrl-Z
// (the shell may have changed it meanwhile) and calls resized when the terminal's size
// changes, until the returned function is called.
func watchTerminal(fd int, apply func() error, resized func()) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCONT, syscall.SIGWINCH)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case s := <-sig:
				if s == syscall.SIGWINCH {
					resized()
				} else if term.IsTerminal(fd) {
					apply()
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		<-stopped
	}
}
