package integration

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kad/protocol"
)

// Deadlines of the harness. A console command is bounded by the node's --timeout
// (cmdTimeout); the harness waits a little longer for its answer.
const (
	cmdTimeout    = 8 * time.Second
	answerTimeout = cmdTimeout + 5*time.Second
	startTimeout  = 15 * time.Second // until the first line; covers a loaded machine
	exitTimeout   = 10 * time.Second // from SIGTERM to exit
	killTimeout   = 10 * time.Second // from SIGKILL to exit, in cleanup
)

// kadBin is the kad binary TestMain built.
var kadBin string

var prebuilt = flag.String("kad", "", "run this kad binary instead of building one")

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if *prebuilt != "" {
		kadBin = *prebuilt
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "kad-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	kadBin = filepath.Join(dir, "kad")
	gobin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: go command not found:", err)
		return 1
	}
	build := exec.Command(gobin, "build", "-o", kadBin, "kad/cmd/kad")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: building kad:", err)
		return 1
	}
	return m.Run()
}

// proc is one running kad process with pipes on its standard streams.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // standard output, line by line; closed at its end
	stderr *syncBuffer
	exited chan struct{} // closed once the process has been waited for

	// Known once the first line is read (startNode).
	id        protocol.ID
	addr      netip.AddrPort
	firstLine string
}

// contact is the node's contact as its first line announced it.
func (p *proc) contact() protocol.Contact { return protocol.Contact{ID: p.id, Addr: p.addr} }

// startProc starts `kad args...`. The process is killed when the test ends, if still
// running; its standard error is logged if the test failed.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, name, nil, args...)
}

// startProcEnv is startProc with extra environment variables ("KEY=value").
func startProcEnv(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	return startCommandEnv(t, name, env, kadBin, args...)
}

// startCommand is startProc for a program that runs kad in its turn (kadBin).
func startCommand(t *testing.T, name, program string, args ...string) *proc {
	t.Helper()
	return startCommandEnv(t, name, nil, program, args...)
}

func startCommandEnv(t *testing.T, name string, env []string, program string, args ...string) *proc {
	t.Helper()
	p := &proc{
		t:      t,
		name:   name,
		cmd:    exec.Command(program, args...),
		lines:  make(chan string, 1024),
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		// All output is read before Wait, as exec requires.
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			// Drain the output so the reader can reach Wait.
			timer := time.NewTimer(killTimeout)
			defer timer.Stop()
		drain:
			for {
				select {
				case _, ok := <-p.lines:
					if !ok {
						break drain
					}
				case <-timer.C:
					t.Errorf("%s: still running %v after SIGKILL", name, killTimeout)
					break drain
				}
			}
			select {
			case <-p.exited:
			case <-timer.C:
			}
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr.tail(4096))
		}
	})
	return p
}

// cleanEnv returns the test's environment without KAD_* variables, which would change
// what the flags say.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KAD_") {
			env = append(env, kv)
		}
	}
	return env
}

// startNode starts `kad node args...` and reads its first line.
func startNode(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := startProc(t, name, append([]string{"node"}, args...)...)
	line, err := p.readLine(startTimeout)
	if err != nil {
		t.Fatalf("%s: first line: %v; stderr: %s", name, err, p.stderr.tail(1024))
	}
	p.firstLine = line
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "node" {
		t.Fatalf("%s: first line %q, want \"node <id> <addr> <transport> ...\"", name, line)
	}
	if p.id, err = protocol.ParseID(f[1]); err != nil || f[1] != strings.ToLower(f[1]) {
		t.Fatalf("%s: first line %q: id: %v", name, line, err)
	}
	if p.addr, err = protocol.ParseAddr(f[2]); err != nil {
		t.Fatalf("%s: first line %q: addr: %v", name, line, err)
	}
	return p
}

var errEOF = errors.New("standard output closed")

// readLine returns the next line of standard output, or an error after timeout.
func (p *proc) readLine(timeout time.Duration) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", errEOF
		}
		return l, nil
	case <-timer.C:
		return "", fmt.Errorf("no line within %v", timeout)
	}
}

// send writes one command line to the console.
func (p *proc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: write %q: %v", p.name, line, err)
	}
}

// answer reads one console answer: data lines (starting with two spaces) up to and
// including the final line.
func (p *proc) answer() ([]string, error) {
	deadline := time.Now().Add(answerTimeout)
	var lines []string
	for {
		l, err := p.readLine(time.Until(deadline))
		if err != nil {
			return lines, err
		}
		lines = append(lines, l)
		if !strings.HasPrefix(l, "  ") {
			return lines, nil
		}
	}
}

// do runs a console command and returns its answer; the final line is the last.
func (p *proc) do(cmd string) []string {
	p.t.Helper()
	p.send(cmd)
	a, err := p.answer()
	if err != nil {
		p.t.Fatalf("%s: %q: %v (got %q); stderr: %s", p.name, cmd, err, a, p.stderr.tail(1024))
	}
	return a
}

// doFinal runs a command and returns the final line of its answer.
func (p *proc) doFinal(cmd string) string {
	p.t.Helper()
	a := p.do(cmd)
	return a[len(a)-1]
}

// contacts runs a command that answers with contacts and parses them, checking the
// count line.
func (p *proc) contacts(cmd string) []protocol.Contact {
	p.t.Helper()
	a := p.do(cmd)
	cs := parseContacts(p.t, a[:len(a)-1])
	want := fmt.Sprintf("%d contacts", len(cs))
	if len(cs) == 1 {
		want = "1 contact"
	}
	if a[len(a)-1] != want {
		p.t.Fatalf("%s: %q: answer %q does not end with %q", p.name, cmd, a, want)
	}
	return cs
}

func parseContacts(t *testing.T, lines []string) []protocol.Contact {
	t.Helper()
	var cs []protocol.Contact
	for _, l := range lines {
		c, err := protocol.ParseContact(strings.TrimPrefix(l, "  "))
		if err != nil {
			t.Fatalf("contact line %q: %v", l, err)
		}
		cs = append(cs, c)
	}
	return cs
}

// wait waits up to timeout for the process to exit and returns its exit status.
func (p *proc) wait(timeout time.Duration) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// Standard output must be drained for the process to be waited for.
	for {
		select {
		case _, ok := <-p.lines:
			if !ok {
				select {
				case <-p.exited:
					return p.cmd.ProcessState.ExitCode(), nil
				case <-timer.C:
					return -1, fmt.Errorf("%s: not exited within %v", p.name, timeout)
				}
			}
		case <-p.exited:
			return p.cmd.ProcessState.ExitCode(), nil
		case <-timer.C:
			return -1, fmt.Errorf("%s: not exited within %v", p.name, timeout)
		}
	}
}

// terminate sends SIGTERM; wait waits for the exit.
func (p *proc) terminate() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Errorf("%s: SIGTERM: %v", p.name, err)
	}
}

// interrupt sends SIGINT, as Ctrl-C at a terminal does.
func (p *proc) interrupt() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		p.t.Errorf("%s: SIGINT: %v", p.name, err)
	}
}

// stop sends SIGTERM and checks the process exits with status 0 in time.
func (p *proc) stop() {
	p.t.Helper()
	p.terminate()
	if code, err := p.wait(exitTimeout); err != nil || code != 0 {
		p.t.Errorf("%s: after SIGTERM: exit status %d, %v", p.name, code, err)
	}
}

// syncBuffer collects a process's standard error.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// tail returns the last n bytes, at most.
func (b *syncBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// freeUDPPort returns a port of 127.0.0.1 that nothing listened on a moment ago.
func freeUDPPort(t *testing.T) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
