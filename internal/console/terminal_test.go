//go:build linux

package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"kad/node"
)

// waitLimit bounds every wait of the terminal tests.
const waitLimit = 20 * time.Second

const (
	keyUp = "\x1b[A"
	ctrlC = "\x03"
	ctrlD = "\x04"
)

// ptyConsole is a console running on the terminal side of a pseudo-terminal; the test
// types on the other side and reads what the console shows.
type ptyConsole struct {
	t      *testing.T
	con    *Console
	ptmx   *os.File
	tty    *os.File
	cancel context.CancelFunc
	done   chan error // Run's result

	mu      sync.Mutex
	screen  []byte
	changed chan struct{} // a token after each read of the screen
	read    chan struct{} // closed when the screen's reader has returned
}

// startPTY runs a console on n on a new pseudo-terminal, 120 columns wide, after setup
// has set its fields. The console stops, and the terminal closes, when the test ends.
func startPTY(t *testing.T, n *node.Node, setup func(*Console)) *ptyConsole {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	p := &ptyConsole{t: t, ptmx: ptmx, tty: tty, done: make(chan error, 1),
		changed: make(chan struct{}, 1), read: make(chan struct{})}
	go p.readScreen()
	p.con = New(n, tty, tty)
	p.con.Transport = "mem"
	p.con.Timeout = 5 * time.Second
	p.con.Interrupt = func() { t.Error("Ctrl-C on an empty line, not expected here") }
	if setup != nil {
		setup(p.con)
	}
	if !p.con.OnTerminal() {
		t.Fatal("OnTerminal is false on a pseudo-terminal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	before := termios(t, tty)
	go func() { p.done <- p.con.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(waitLimit):
			t.Error("console still running after its context ended")
		}
		if after := termios(t, tty); after != before {
			t.Errorf("terminal mode after the console: %+v, before: %+v", after, before)
		}
		tty.Close() // the reader of ptmx then gets an error
		select {
		case <-p.read:
		case <-time.After(waitLimit):
			t.Error("reader of the pseudo-terminal still running")
		}
		ptmx.Close()
	})
	p.waitFor(Prompt, 1)
	return p
}

func termios(t *testing.T, f *os.File) unix.Termios {
	t.Helper()
	sc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var tio *unix.Termios
	var ierr error
	if err := sc.Control(func(fd uintptr) { tio, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS) }); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Fatal(ierr)
	}
	return *tio
}

func (p *ptyConsole) readScreen() {
	defer close(p.read)
	buf := make([]byte, 4096)
	for {
		n, err := p.ptmx.Read(buf)
		p.mu.Lock()
		p.screen = append(p.screen, buf[:n]...)
		p.mu.Unlock()
		select {
		case p.changed <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// typ types keys on the terminal.
func (p *ptyConsole) typ(keys string) {
	p.t.Helper()
	if _, err := p.ptmx.WriteString(keys); err != nil {
		p.t.Fatal(err)
	}
}

// count returns how often s has been shown.
func (p *ptyConsole) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Count(p.screen, []byte(s))
}

// waitFor waits until s has been shown n times in all.
func (p *ptyConsole) waitFor(s string, n int) {
	p.t.Helper()
	deadline := time.After(waitLimit)
	for p.count(s) < n {
		select {
		case <-p.changed:
		case err := <-p.done:
			p.t.Fatalf("console ended (%v) before showing %q %d times; screen:\n%q", err, s, n, p.shown())
		case <-deadline:
			p.t.Fatalf("%q not shown %d times within %v; screen:\n%q", s, n, waitLimit, p.shown())
		}
	}
}

func (p *ptyConsole) shown() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.screen)
}

// end types Ctrl-D on an empty line and waits for Run to return nil.
func (p *ptyConsole) end() {
	p.t.Helper()
	p.typ(ctrlD)
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		if err != nil {
			p.t.Fatalf("Run after Ctrl-D: %v", err)
		}
	case <-time.After(waitLimit):
		p.t.Fatalf("console still running after Ctrl-D; screen:\n%q", p.shown())
	}
}

func TestTerminal(t *testing.T) {
	nodes := testCluster(t, 1)
	histFile := filepath.Join(t.TempDir(), "history")
	interrupted := make(chan struct{}, 1)
	p := startPTY(t, nodes[0], func(c *Console) {
		c.HistoryFile = histFile
		c.Interrupt = func() { interrupted <- struct{}{} }
	})
	commandsLine := fmt.Sprintf("%d commands", len(commands))
	nodeLine := NodeLine(nodes[0], "mem")

	p.typ("put a b\r")
	p.waitFor("stored on 1 node\r", 1)
	p.typ("get a\r")
	p.waitFor("value b\r", 1)

	// Up brings back the last line.
	p.typ(keyUp + "\r")
	p.waitFor("value b\r", 2)

	// Tab completes the one name that fits.
	p.typ("he\t\r")
	p.waitFor(commandsLine, 1)

	// Tab lists the names that fit when it cannot complete more; Ctrl-C then drops
	// the line, which is neither run nor kept.
	p.typ("f\t")
	p.waitFor(dataIndent+"fn  fv", 1)
	p.typ(ctrlC + "id\r")
	p.waitFor(nodeLine, 1)
	if strings.Contains(p.shown(), "unknown command") {
		t.Errorf("the line aborted with Ctrl-C was run; screen:\n%q", p.shown())
	}

	// Ctrl-C on an empty line interrupts.
	p.typ(ctrlC)
	select {
	case <-interrupted:
	case <-time.After(waitLimit):
		t.Fatalf("Ctrl-C on an empty line did not interrupt; screen:\n%q", p.shown())
	}

	// A line starting with a space runs but is not kept.
	p.typ(" get a\r")
	p.waitFor("value b\r", 3)
	p.end()

	b, err := os.ReadFile(histFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "put a b\nget a\nhelp \nid\n"; got != want {
		t.Errorf("history file %q, want %q", got, want)
	}
	if fi, err := os.Stat(histFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode: %v, %v; want 0600", fi.Mode(), err)
	}

	// The next console starts with that history.
	p2 := startPTY(t, nodes[0], func(c *Console) { c.HistoryFile = histFile })
	p2.typ(keyUp + "\r")
	p2.waitFor(nodeLine, 1)
	p2.end()
}

// TestTerminalCtrlCCancels checks that Ctrl-C while a command runs cancels it and
// leaves the console at the prompt.
func TestTerminalCtrlCCancels(t *testing.T) {
	started := make(chan struct{}, 1)
	saved := commands
	commands = append(commands[:len(commands):len(commands)], command{"wait", "", "wait for Ctrl-C",
		func(_ *Console, ctx context.Context, _ *answer, _ string) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}})
	t.Cleanup(func() { commands = saved })

	nodes := testCluster(t, 1)
	p := startPTY(t, nodes[0], nil)
	p.typ("wait\r")
	select {
	case <-started:
	case <-time.After(waitLimit):
		t.Fatalf("command did not start; screen:\n%q", p.shown())
	}
	p.typ(ctrlC)
	p.waitFor("error: "+context.Canceled.Error(), 1)
	p.waitFor(Prompt, 2)
	p.typ("id\r")
	p.waitFor("node ", 1)
	p.end()
}

// TestTerminalContextEnds checks that Run returns, with the terminal as it was, when
// its context ends at the prompt.
func TestTerminalContextEnds(t *testing.T) {
	nodes := testCluster(t, 1)
	p := startPTY(t, nodes[0], nil)
	p.typ("get")
	p.waitFor("get", 1)
	p.cancel()
	select {
	case err := <-p.done:
		p.done <- err
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run still running after its context ended")
	}
}

// TestSharedOutput checks that a write to a SharedOutput on the console's terminal
// appears above the prompt, which is drawn again with the line being typed, and goes
// straight to its writer when no console runs.
func TestSharedOutput(t *testing.T) {
	nodes := testCluster(t, 1)
	var shared *SharedOutput
	p := startPTY(t, nodes[0], func(c *Console) {
		shared = &SharedOutput{W: c.out}
		c.Shared = shared
	})
	p.typ("get a")
	p.waitFor("get a", 1)
	if _, err := shared.Write([]byte("level=WARN msg=hello\n")); err != nil {
		t.Fatal(err)
	}
	// The line editor ends lines with CR LF, which the terminal makes CR CR LF.
	p.waitFor("level=WARN msg=hello\r\r\n"+Prompt+"get a", 1)
	p.typ("\r")
	p.waitFor("not found", 1)
	p.end()

	var buf bytes.Buffer
	off := &SharedOutput{W: &buf}
	off.Write([]byte("plain\n"))
	if buf.String() != "plain\n" {
		t.Errorf("SharedOutput without a console wrote %q", buf.String())
	}
}
