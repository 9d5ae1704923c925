package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Prompt starts each line typed on a terminal.
const Prompt = "kad> "

const keyCtrlC = 3

// keyInterrupt stands for Ctrl-C on its way to the line editor, which would otherwise
// take Ctrl-C for the end of the input: a private-use character that no key sends.
const keyInterrupt = '\uE003'

// terminalFD returns the file descriptor of v if v is an *os.File open on a terminal.
// It reads the descriptor without Fd, which would put the file in blocking mode and so
// stop SetReadDeadline from working on it.
func terminalFD(v any) (*os.File, int, bool) {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return nil, -1, false
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, -1, false
	}
	fd := -1
	if err := sc.Control(func(u uintptr) { fd = int(u) }); err != nil || !term.IsTerminal(fd) {
		return nil, -1, false
	}
	return f, fd, true
}

// OnTerminal reports whether Run edits lines on a terminal: whether the console reads
// from and writes to terminals (both *os.File). Otherwise it reads lines as they come,
// as from a pipe.
func (c *Console) OnTerminal() bool {
	_, _, inOK := terminalFD(c.in)
	_, _, outOK := terminalFD(c.out)
	return inOK && outOK
}

// interrupt answers Ctrl-C on an empty line.
func (c *Console) interrupt() {
	if c.Interrupt != nil {
		c.Interrupt()
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Signal(os.Interrupt)
	}
}

// A session is one Run on a terminal. One goroutine, pump, reads the terminal; Run's
// goroutine edits lines (term.Terminal reads what pump read through Read) and runs the
// commands.
type session struct {
	c   *Console
	ctx context.Context
	in  *os.File
	t   *term.Terminal

	input   chan []byte // what pump read; closed when pump ends
	readErr error       // why pump ended; set before input is closed
	pending []byte      // the rest of the last chunk of input, for Read
	done    chan struct{}
	pumped  chan struct{} // closed when pump has returned

	mu     sync.Mutex
	cancel context.CancelFunc // the running command's; nil at the prompt
}

// runTerminal is Run on a terminal: lines are edited with history and completion.
func (c *Console) runTerminal(ctx context.Context, in *os.File, inFD, outFD int) error {
	s := &session{c: c, ctx: ctx, in: in, input: make(chan []byte, 16),
		done: make(chan struct{}), pumped: make(chan struct{})}
	t := term.NewTerminal(s, Prompt)
	s.t = t
	resize := func() {
		if w, h, err := term.GetSize(outFD); err == nil {
			t.SetSize(w, h)
		}
	}
	restore, err := editMode(inFD, resize)
	if err != nil {
		return c.runLines(ctx)
	}
	defer restore()
	resize()

	hist := newHistory(c.HistorySize)
	if c.HistoryFile != "" {
		if err := hist.load(c.HistoryFile); err != nil {
			fmt.Fprintf(t, "history: %s\n", OneLine(err.Error()))
		}
	}
	t.History = hist
	t.AutoCompleteCallback = s.key
	if c.Shared != nil {
		if out, ok := c.out.(*os.File); ok {
			c.Shared.attach(t, out)
			defer c.Shared.detach()
		}
	}

	go s.pump()
	defer s.stopPump()
	err = s.loop()
	if c.HistoryFile != "" {
		if serr := hist.save(c.HistoryFile); serr != nil {
			fmt.Fprintf(c.out, "history: %s\r\n", OneLine(serr.Error()))
		}
	}
	return err
}

// loop reads and runs lines until the input ends (Ctrl-D on an empty line), ctx ends,
// or reading or writing fails.
func (s *session) loop() error {
	for {
		line, err := s.t.ReadLine()
		if err != nil {
			io.WriteString(s.c.out, "\r\n") // off the prompt
			switch {
			case s.ctx.Err() != nil:
				return s.ctx.Err()
			case err == io.EOF:
				return nil
			}
			return err
		}
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		if answer := s.exec(line); answer != "" {
			if _, err := s.t.Write([]byte(answer)); err != nil {
				return err
			}
		}
	}
}

// exec runs one line; Ctrl-C meanwhile cancels it.
func (s *session) exec(line string) string {
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
		cancel()
	}()
	return s.c.Exec(ctx, line)
}

// pump reads the terminal until reading fails or the session stops. A Ctrl-C read
// while a command runs cancels the command and goes no further.
func (s *session) pump() {
	defer close(s.pumped)
	defer close(s.input)
	for {
		buf := make([]byte, 256)
		n, err := s.in.Read(buf)
		b := buf[:n]
		if bytes.IndexByte(b, keyCtrlC) >= 0 {
			s.mu.Lock()
			cancel := s.cancel
			s.mu.Unlock()
			if cancel != nil {
				cancel()
				b = bytes.ReplaceAll(b, []byte{keyCtrlC}, nil)
			}
		}
		if len(b) > 0 {
			select {
			case s.input <- b:
			case <-s.done:
				return
			}
		}
		if err != nil {
			s.readErr = err
			return
		}
	}
}

// stopPump stops pump. A terminal that takes read deadlines (one opened as a file, such
// as a pseudo-terminal) is made to end the read pump waits in; otherwise (os.Stdin)
// pump stays blocked until the next key, which it then drops.
func (s *session) stopPump() {
	close(s.done)
	if s.in.SetReadDeadline(time.Now()) == nil {
		<-s.pumped
		s.in.SetReadDeadline(time.Time{})
	}
}

// Read gives the line editor what pump read, with each Ctrl-C as keyInterrupt. It ends
// with ctx.
func (s *session) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		select {
		case b, ok := <-s.input:
			if !ok {
				return 0, s.readErr
			}
			s.pending = bytes.ReplaceAll(b, []byte{keyCtrlC}, []byte(string(keyInterrupt)))
		case <-s.ctx.Done():
			return 0, s.ctx.Err()
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// Write is how the line editor writes to the terminal.
func (s *session) Write(p []byte) (int, error) { return s.c.out.Write(p) }

// key is the line editor's AutoCompleteCallback: it sees each key the editor does not
// handle itself before the editor does.
func (s *session) key(line string, pos int, key rune) (newLine string, newPos int, ok bool) {
	switch key {
	case keyInterrupt:
		if strings.TrimSpace(line) == "" {
			s.c.interrupt()
		}
		return "", 0, true // abort the line
	case '\t':
		return s.complete(line, pos)
	}
	return "", 0, false
}

// complete completes the command name before the cursor from the command table: to the
// name and a space if one name fits, else to what the names that fit share; when that
// adds nothing, it lists them.
func (s *session) complete(line string, pos int) (string, int, bool) {
	head, rest := line[:pos], line[pos:]
	word := strings.TrimLeft(head, " \t")
	if strings.ContainsAny(word, " \t") || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return "", 0, false // not in the first word, or in the middle of it
	}
	lead := head[:len(head)-len(word)]
	names := completions(word)
	switch {
	case len(names) == 0:
		return "", 0, false
	case len(names) == 1:
		done := lead + names[0]
		if rest == "" {
			done += " "
		}
		return done + rest, len(done), true
	}
	if p := commonPrefix(names); len(p) > len(word) {
		return lead + p + rest, len(lead) + len(p), true
	}
	s.t.Write([]byte(dataIndent + strings.Join(names, "  ") + "\n"))
	return "", 0, false
}

// completions returns the names of the commands that start with prefix, in the order of
// the table.
func completions(prefix string) []string {
	var names []string
	for i := range commands {
		if strings.HasPrefix(commands[i].name, prefix) {
			names = append(names, commands[i].name)
		}
	}
	return names
}

func commonPrefix(names []string) string {
	p := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}
