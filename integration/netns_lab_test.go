//go:build linux

package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kad/protocol"
)

// The namespaces of TestNetns: a lab is one switch namespace holding a bridge, and one
// namespace per host, joined to the bridge by a veth pair. Nothing of it is in the
// machine's own namespace, so no packet of the test reaches a real network. The test
// reaches into a namespace in two ways only: `ip netns exec` to start a node there, and
// sockets opened from a thread that joined it for the moment (netnsSocket).

const (
	netnsCmdTimeout = 10 * time.Second // bound on one ip command
	netnsRunDir     = "/var/run/netns" // where ip netns names namespaces
	// netnsNamePrefix starts the name of every namespace the test makes, followed by
	// the test process's ID, so that parallel runs do not collide and a later run can
	// tell the leftovers of a killed one.
	netnsNamePrefix = "kadt"
	netnsMask       = 16 // every host's prefix length: one flat 10.77.0.0/16
)

// netnsLabs numbers the labs of this process.
var netnsLabs atomic.Int64

// netnsUnusable says why network namespaces cannot be used here, or "" if they can.
func netnsUnusable() string {
	if os.Geteuid() != 0 {
		return "needs root, to make network namespaces (ip netns); run as root to include it"
	}
	if _, ok := netnsSysSetns[runtime.GOARCH]; !ok {
		return "does not know setns(2)'s number on " + runtime.GOARCH
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "needs the ip command (iproute2), to make network namespaces: " + err.Error()
	}
	if _, err := netnsRun("ip", "netns", "list"); err != nil {
		return "ip netns does not work here: " + err.Error()
	}
	return ""
}

// netnsRun runs a command with a deadline and returns its combined output.
func netnsRun(program string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), netnsCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", program, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// netnsList returns the names of the machine's named network namespaces.
func netnsList() ([]string, error) {
	out, err := netnsRun("ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		// "name" or "name (id: 3)"
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// netnsRemoveStale removes the namespaces a test process that no longer runs left
// behind (one killed by -timeout runs no cleanup).
func netnsRemoveStale(t *testing.T) {
	t.Helper()
	names, err := netnsList()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, netnsNamePrefix)
		pid, _, ok2 := strings.Cut(rest, "-")
		n, err := strconv.Atoi(pid)
		if !ok || !ok2 || err != nil || n <= 0 {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // its process still runs
		}
		if _, err := netnsRun("ip", "netns", "del", name); err != nil {
			t.Logf("removing a stale namespace: %v", err)
		} else {
			t.Logf("removed %s, left by process %s", name, pid)
		}
	}
}

// netnsLab is a set of namespaces on one bridge.
type netnsLab struct {
	t      *testing.T
	prefix string
	sw     string   // the switch namespace, holding the bridge br0
	names  []string // every namespace made, in order
}

// newNetnsLab makes the switch namespace and its bridge, and removes every namespace of
// the lab when the test ends. It skips the test if no namespace can be made.
func newNetnsLab(t *testing.T) *netnsLab {
	t.Helper()
	l := &netnsLab{t: t, prefix: fmt.Sprintf("%s%d-%d-", netnsNamePrefix, os.Getpid(), netnsLabs.Add(1))}
	// Registered before any process starts, so that it runs after they are killed.
	t.Cleanup(l.remove)
	l.sw = l.prefix + "sw"
	if _, err := netnsRun("ip", "netns", "add", l.sw); err != nil {
		t.Skipf("cannot make a network namespace: %v", err)
	}
	l.names = append(l.names, l.sw)
	l.ip("-n", l.sw, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.sw, "link", "set", "br0", "up")
	return l
}

// ip runs an ip command, failing the test if it fails.
func (l *netnsLab) ip(args ...string) {
	l.t.Helper()
	if _, err := netnsRun("ip", args...); err != nil {
		l.t.Fatal(err)
	}
}

// remove deletes the lab's namespaces, then checks that none is left.
func (l *netnsLab) remove() {
	for i := len(l.names) - 1; i >= 0; i-- {
		if _, err := netnsRun("ip", "netns", "del", l.names[i]); err != nil {
			l.t.Errorf("removing namespace: %v", err)
		}
	}
	names, err := netnsList()
	if err != nil {
		l.t.Error(err)
		return
	}
	for _, name := range names {
		if strings.HasPrefix(name, l.prefix) {
			l.t.Errorf("namespace %s is left after the test", name)
		}
	}
}

// netnsHost is one host of a lab: a namespace whose eth0 has addr, on the bridge.
type netnsHost struct {
	name string // short, for logs: "a1"
	ns   string // the namespace's name
	addr netip.Addr
	id   protocol.ID // the node's, for hosts that run one
	p    *proc       // the node, once started
}

// contact is the node's contact: its ID at the host's address and netnsPort.
func (h *netnsHost) contact() protocol.Contact {
	return protocol.Contact{ID: h.id, Addr: netip.AddrPortFrom(h.addr, netnsPort)}
}

// addHost makes a host's namespace, joins it to the bridge and gives it addr.
func (l *netnsLab) addHost(name string, addr netip.Addr) *netnsHost {
	l.t.Helper()
	h := &netnsHost{name: name, ns: l.prefix + name, addr: addr}
	if _, err := netnsRun("ip", "netns", "add", h.ns); err != nil {
		l.t.Fatal(err)
	}
	l.names = append(l.names, h.ns)
	// The pair is made in the switch namespace, its other end put straight into the
	// host's: at no moment is either end in the machine's namespace.
	port := fmt.Sprintf("p%d", len(l.names)-1)
	l.ip("-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
	l.ip("-n", l.sw, "link", "set", port, "master", "br0", "up")
	l.ip("-n", h.ns, "addr", "add", netip.PrefixFrom(addr, netnsMask).String(), "dev", "eth0")
	l.ip("-n", h.ns, "link", "set", "eth0", "up")
	l.ip("-n", h.ns, "link", "set", "lo", "up")
	return h
}

// start runs `kad node args...` in the host's namespace and reads its first line, which
// must name the host's contact.
func (h *netnsHost) start(t *testing.T, args ...string) {
	t.Helper()
	// ip netns exec execs the program, so the process started is the node itself:
	// signals and the kill in cleanup reach it.
	p := startCommand(t, h.name, "ip", append([]string{"netns", "exec", h.ns, kadBin, "node"}, args...)...)
	line, err := p.readLine(startTimeout)
	if err != nil {
		t.Fatalf("%s: first line: %v; stderr: %s", h.name, err, p.stderr.tail(1024))
	}
	p.firstLine = line
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "node" {
		t.Fatalf("%s: first line %q, want \"node <id> <addr> <transport> ...\"", h.name, line)
	}
	if p.id, err = protocol.ParseID(f[1]); err != nil {
		t.Fatalf("%s: first line %q: id: %v", h.name, line, err)
	}
	if p.addr, err = protocol.ParseAddr(f[2]); err != nil {
		t.Fatalf("%s: first line %q: addr: %v", h.name, line, err)
	}
	if p.contact() != h.contact() {
		t.Fatalf("%s: first line %q, want node %s", h.name, line, h.contact())
	}
	h.p = p
}

// netnsSocket runs open, which makes a socket, in namespace ns and returns its file
// descriptor. A socket stays in the namespace it was made in, whichever thread uses it
// later, so only the making needs the namespace: open runs on a thread locked to its
// goroutine, which joins ns and then its own namespace again. If it cannot go back the
// thread is not unlocked, and ends with the goroutine: no other goroutine runs in ns.
func netnsSocket(ns string, open func() (int, error)) (int, error) {
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err, back := netnsOpenIn(ns, open)
		if back {
			runtime.UnlockOSThread()
		}
		done <- result{fd, err}
	}()
	r := <-done
	return r.fd, r.err
}

// netnsOpenIn is netnsSocket's locked thread; back reports whether the thread is in its
// own namespace again.
func netnsOpenIn(ns string, open func() (int, error)) (fd int, err error, back bool) {
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return -1, err, true
	}
	defer home.Close()
	there, err := os.Open(filepath.Join(netnsRunDir, ns))
	if err != nil {
		return -1, err, true
	}
	defer there.Close()
	if err := netnsSetns(there); err != nil {
		return -1, fmt.Errorf("joining namespace %s: %w", ns, err), true
	}
	fd, err = open()
	if berr := netnsSetns(home); berr != nil {
		return fd, errors.Join(err, fmt.Errorf("leaving namespace %s: %w", ns, berr)), false
	}
	return fd, err, true
}

// netnsSetns moves the calling thread into the network namespace f names.
func netnsSetns(f *os.File) error {
	nr, ok := netnsSysSetns[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("setns: system call number on %s not known to this test", runtime.GOARCH)
	}
	if _, _, errno := syscall.RawSyscall(nr, f.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
		return errno
	}
	return nil
}

// netnsSysSetns is setns(2)'s number by architecture. Package syscall names it
// (SYS_SETNS) on most, but not on amd64 and 386, whose tables predate the call; so that
// the test needs no other package, the numbers are here, as Linux's tables give them.
var netnsSysSetns = map[string]uintptr{
	"amd64": 308, "386": 346, "arm64": 268, "riscv64": 268, "loong64": 268,
	"arm": 375, "ppc64": 350, "ppc64le": 350, "s390x": 339,
}

// netnsCounter counts the UDP datagrams that reach one address of a host: the victim's.
type netnsCounter struct {
	conn net.PacketConn
	done chan struct{}

	mu  sync.Mutex
	got netnsCount
}

// netnsCount is what a netnsCounter received: UDP payload bytes and datagrams, in all,
// from each source, and by what they carry ("response VALUE").
type netnsCount struct {
	bytes, datagrams int
	from             map[netip.AddrPort]int
	what             map[string]netnsTally
}

// netnsTally is a number of datagrams and their bytes.
type netnsTally struct{ datagrams, bytes int }

// listenNetnsCounter counts what reaches at, in namespace ns, until the test ends.
func listenNetnsCounter(t *testing.T, ns string, at netip.AddrPort) *netnsCounter {
	t.Helper()
	fd, err := netnsSocket(ns, func() (int, error) {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		// Room for every reply at once, so that a reader that falls behind does not
		// make the count low (FORCE: above the namespace's rmem_max, as root may).
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 16<<20); err != nil {
			syscall.Close(fd)
			return -1, fmt.Errorf("SO_RCVBUFFORCE: %w", err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: at.Addr().As4(), Port: int(at.Port())}); err != nil {
			syscall.Close(fd)
			return -1, fmt.Errorf("bind %s: %w", at, err)
		}
		return fd, nil
	})
	if err != nil {
		t.Fatalf("victim socket: %v", err)
	}
	f := os.NewFile(uintptr(fd), "victim")
	conn, err := net.FilePacketConn(f) // a copy of the descriptor, in the runtime's poller
	f.Close()
	if err != nil {
		t.Fatalf("victim socket: %v", err)
	}
	c := &netnsCounter{conn: conn, done: make(chan struct{}),
		got: netnsCount{from: make(map[netip.AddrPort]int), what: make(map[string]netnsTally)}}
	go c.read()
	t.Cleanup(func() {
		conn.Close()
		<-c.done
	})
	return c
}

func (c *netnsCounter) read() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for {
		n, from, err := c.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		what := netnsWhat(buf[:n])
		c.mu.Lock()
		c.got.bytes += n
		c.got.datagrams++
		if ua, ok := from.(*net.UDPAddr); ok {
			ap := ua.AddrPort()
			c.got.from[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] += n
		}
		w := c.got.what[what]
		w.datagrams++
		w.bytes += n
		c.got.what[what] = w
		c.mu.Unlock()
	}
}

// netnsWhat names what a kad datagram carries: "request PING", "response VALUE",
// "error response", or "other" for what is none of these.
func netnsWhat(b []byte) string {
	if len(b) < netnsHeaderLen || b[0]>>4 != 1 {
		return "other"
	}
	var m protocol.Message
	switch b[0] & 0xf {
	case 1:
		if protocol.DecodeInto(&m, b[netnsHeaderLen:]) == nil {
			return "request " + m.Type.String()
		}
	case 2:
		if protocol.DecodeInto(&m, b[netnsHeaderLen:]) == nil {
			return "response " + m.Type.String()
		}
	case 3:
		return "error response"
	}
	return "other"
}

// snapshot returns what the counter has received so far.
func (c *netnsCounter) snapshot() netnsCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.got
	s.from = maps.Clone(c.got.from)
	s.what = maps.Clone(c.got.what)
	return s
}

// netnsForger sends UDP datagrams under a source address that is not its host's, over
// a raw socket (IPPROTO_RAW: the test writes the IPv4 header itself).
type netnsForger struct {
	fd        int
	src       netip.AddrPort // the forged source
	ipID      uint16
	sent      int // UDP payload bytes sent
	datagrams int
}

// openNetnsForger opens a raw socket in namespace ns, closed when the test ends.
func openNetnsForger(t *testing.T, ns string, src netip.AddrPort) *netnsForger {
	t.Helper()
	fd, err := netnsSocket(ns, func() (int, error) {
		return syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_RAW)
	})
	if err != nil {
		t.Fatalf("forger socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return &netnsForger{fd: fd, src: src, ipID: 1}
}

// send sends payload to to in one UDP datagram from f.src.
func (f *netnsForger) send(to netip.AddrPort, payload []byte) error {
	pkt, err := netnsUDPPacket(f.src, to, f.ipID, payload)
	if err != nil {
		return err
	}
	f.ipID++
	if err := syscall.Sendto(f.fd, pkt, 0, &syscall.SockaddrInet4{Addr: to.Addr().As4()}); err != nil {
		return fmt.Errorf("sendto %s: %w", to, err)
	}
	f.sent += len(payload)
	f.datagrams++
	return nil
}

// netnsUDPPacket builds an IPv4 packet (no options, not fragmented) carrying one UDP
// datagram from src to dst, both checksums set.
func netnsUDPPacket(src, dst netip.AddrPort, ipID uint16, payload []byte) ([]byte, error) {
	const ipLen, udpLen, mtu = 20, 8, 1500
	if !src.Addr().Is4() || !dst.Addr().Is4() {
		return nil, fmt.Errorf("forged packet %s → %s: IPv4 only", src, dst)
	}
	n := ipLen + udpLen + len(payload)
	if n > mtu {
		return nil, fmt.Errorf("forged packet of %d bytes: over the link's MTU %d", n, mtu)
	}
	b := make([]byte, n)
	b[0] = 4<<4 | ipLen/4 // version, header length in words
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	binary.BigEndian.PutUint16(b[4:], ipID)
	b[8] = 64 // TTL
	b[9] = syscall.IPPROTO_UDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:], netnsChecksum(0, b[:ipLen]))

	u := b[ipLen:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen+len(payload)))
	copy(u[udpLen:], payload)
	// The pseudo-header: source, destination, protocol, UDP length (RFC 768).
	var pseudo [12]byte
	copy(pseudo[0:4], s[:])
	copy(pseudo[4:8], d[:])
	pseudo[9] = syscall.IPPROTO_UDP
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(u)))
	sum := netnsChecksum(netnsSum(0, pseudo[:]), u)
	if sum == 0 {
		sum = 0xffff // 0 would mean "no checksum"
	}
	binary.BigEndian.PutUint16(u[6:], sum)
	return b, nil
}

// netnsSum adds b, as big-endian 16-bit words, to a one's-complement sum (RFC 1071).
func netnsSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// netnsChecksum is the Internet checksum of b, after the partial sum sum.
func netnsChecksum(sum uint32, b []byte) uint16 {
	sum = netnsSum(sum, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
