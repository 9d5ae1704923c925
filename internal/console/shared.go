package console

import (
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// SharedOutput is an io.Writer for what a program prints besides the console's answers,
// such as its logs, to a terminal the console may be editing lines on. While a console
// that has it as Shared edits lines on the terminal W writes to, each write goes through
// the line editor, which prints it above the prompt and then draws the prompt and the
// line being typed again; at any other time, or when W writes elsewhere (a file, a
// pipe), writes go straight to W. A program builds it before the console (its logger
// needs a writer first) and hands it to the console later. It is safe for concurrent
// use; one write should be one whole line or more, as a log record is.
type SharedOutput struct {
	W io.Writer

	mu sync.Mutex
	t  *term.Terminal // the line editor W's writes go through, or nil
}

// Write writes p to W, through the line editor while one is attached.
func (o *SharedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.t != nil {
		return o.t.Write(p)
	}
	return o.W.Write(p)
}

// attach routes the writes through t if W is the terminal out is.
func (o *SharedOutput) attach(t *term.Terminal, out *os.File) {
	w, ok := o.W.(*os.File)
	if !ok {
		return
	}
	wi, err := w.Stat()
	if err != nil {
		return
	}
	oi, err := out.Stat()
	if err != nil || !os.SameFile(wi, oi) {
		return
	}
	o.mu.Lock()
	o.t = t
	o.mu.Unlock()
}

// detach sends the writes straight to W again.
func (o *SharedOutput) detach() {
	o.mu.Lock()
	o.t = nil
	o.mu.Unlock()
}
