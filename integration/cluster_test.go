package integration

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kad/protocol"
)

// clusterSize is how many kad processes each cluster test runs.
const clusterSize = 10

var transportNames = []string{"udp", "quic"}

// nodeArgs are the flags every node of a test cluster gets.
func nodeArgs(transport string) []string {
	return []string{"--transport", transport, "--timeout", cmdTimeout.String(), "--log-level", "info"}
}

// startCluster starts size nodes: the first alone, the others joining through it with the
// original's --bootstrap-addr/--bootstrap-id, every third through an earlier node with
// --bootstrap ID@ADDR as well. It returns once every node has bootstrapped.
func startCluster(t *testing.T, transport string, size int) []*proc {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(size)))
	nodes := []*proc{startNode(t, transport+"-0", nodeArgs(transport)...)}
	for i := 1; i < size; i++ {
		args := append(nodeArgs(transport),
			"--bootstrap-addr", nodes[0].addr.String(), "--bootstrap-id", nodes[0].id.String())
		if i%3 == 0 {
			args = append(args, "--bootstrap", nodes[1+rng.IntN(i-1)].contact().String())
		}
		nodes = append(nodes, startNode(t, fmt.Sprintf("%s-%d", transport, i), args...))
	}
	// The console answers once bootstrapping is over; a failed bootstrap ends the
	// process, which shows as the end of its output.
	for _, p := range nodes {
		if got := p.doFinal("id"); got != p.firstLine {
			t.Fatalf("%s: id answered %q, first line was %q", p.name, got, p.firstLine)
		}
	}
	return nodes
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	for _, transport := range transportNames {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			testCluster(t, transport)
		})
	}
}

func testCluster(t *testing.T, transport string) {
	start := time.Now()
	nodes := startCluster(t, transport, clusterSize)
	t.Logf("%d nodes up and bootstrapped in %v", len(nodes), time.Since(start).Round(time.Millisecond))
	byID := make(map[protocol.ID]*proc)
	for _, p := range nodes {
		if byID[p.id] != nil {
			t.Fatalf("two nodes with id %s", p.id)
		}
		byID[p.id] = p
		wantSuffix := " " + transport
		if transport == "quic" {
			wantSuffix += " verified"
		}
		if !strings.HasSuffix(p.firstLine, wantSuffix) || p.addr.Addr().String() != "127.0.0.1" {
			t.Errorf("%s: first line %q, want 127.0.0.1 and ending %q", p.name, p.firstLine, wantSuffix)
		}
	}
	// known checks a contact against the cluster.
	known := func(who string, c protocol.Contact) {
		t.Helper()
		p := byID[c.ID]
		if p == nil || p.addr != c.Addr {
			t.Errorf("%s: contact %s is not a node of the cluster", who, c)
		}
	}
	// closestOthers returns the cluster's contacts but exclude's, closest to key first.
	closestOthers := func(key protocol.ID, exclude *proc) []protocol.Contact {
		var cs []protocol.Contact
		for _, p := range nodes {
			if p != exclude {
				cs = append(cs, p.contact())
			}
		}
		protocol.SortByDistance(key, cs)
		return cs
	}

	// put on one node, get on every other.
	const value = "hello  kad world, with spaces"
	strKey := "greeting-" + transport
	got := nodes[1].doFinal("put " + strKey + " " + value)
	n, ok := strings.CutPrefix(got, "stored on ")
	stored, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(n, " nodes"), " node"))
	if !ok || err != nil || stored < len(nodes)/2 {
		t.Fatalf("put: %q, want stored on at least %d nodes", got, len(nodes)/2)
	}
	t.Logf("put: %s", got)
	for _, p := range nodes[2:] {
		if got := p.doFinal("get " + strKey); got != "value "+value {
			t.Errorf("%s: get: %q, want %q", p.name, got, "value "+value)
		}
	}
	if got := nodes[3].doFinal("get no-such-key"); got != "not found" {
		t.Errorf("get of a missing key: %q", got)
	}

	// lv: the value, or the closest contacts then "not found".
	if got := nodes[5].doFinal("lv " + strKey); got != "value "+value {
		t.Errorf("lv: %q", got)
	}
	a := nodes[5].do("lv no-such-key")
	if a[len(a)-1] != "not found" || len(a) < 2 {
		t.Errorf("lv of a missing key: %q, want contacts then \"not found\"", a)
	}
	for _, c := range parseContacts(t, a[:len(a)-1]) {
		known("lv", c)
	}

	// ln: the closest nodes of the cluster, closest first.
	target := protocol.KeyFromString("somewhere")
	cs := nodes[4].contacts("ln " + target.String())
	want := closestOthers(target, nodes[4])
	for _, c := range cs {
		known("ln", c)
	}
	if len(cs) < 3 || cs[0] != want[0] || cs[1] != want[1] || cs[2] != want[2] {
		t.Errorf("ln %s: %v, want it to start with %v", target.Short(), cs, want[:3])
	}
	for i := 1; i < len(cs); i++ {
		if target.CmpDistance(cs[i-1].ID, cs[i].ID) > 0 {
			t.Errorf("ln: contacts not sorted by distance: %v", cs)
		}
	}

	// p: the answer names the node pinged; a wrong ID is an error.
	if got, want := nodes[7].doFinal("p "+nodes[6].addr.String()+" "+nodes[6].id.String()), "pong "+nodes[6].contact().String(); got != want {
		t.Errorf("p: %q, want %q", got, want)
	}
	if got, want := nodes[7].doFinal("p "+nodes[6].addr.String()), "pong "+nodes[6].contact().String(); got != want {
		t.Errorf("p without id: %q, want %q", got, want)
	}
	if got := nodes[7].doFinal("p " + nodes[6].addr.String() + " " + nodes[8].id.String()); !strings.HasPrefix(got, "error: ") {
		t.Errorf("p with another node's id: %q, want an error", got)
	}

	// fn: the node's own closest contacts.
	cs = nodes[9].contacts("fn " + nodes[8].addr.String() + " " + target.String())
	if len(cs) == 0 {
		t.Errorf("fn: no contacts")
	}
	for _, c := range cs {
		known("fn", c)
		if c.ID == nodes[9].id {
			t.Errorf("fn: answer holds the requester %s", c)
		}
	}

	// s then fv at that node; fv of a missing key answers contacts.
	direct := protocol.KeyFromString("direct-" + transport)
	if got, want := nodes[2].doFinal("s "+nodes[3].addr.String()+" "+direct.String()+" stored directly"), "stored at "+nodes[3].addr.String(); got != want {
		t.Errorf("s: %q, want %q", got, want)
	}
	if got := nodes[5].doFinal("fv " + nodes[3].contact().String() + " " + direct.String()); got != "value stored directly" {
		t.Errorf("fv after s: %q", got)
	}
	for _, c := range nodes[5].contacts("fv " + nodes[3].addr.String() + " " + protocol.KeyFromString("nothing").String()) {
		known("fv", c)
	}
	// The node closest to the put's key holds the value.
	holder := byID[closestOthers(protocol.KeyFromString(strKey), nil)[0].ID]
	asker := nodes[0]
	if asker == holder {
		asker = nodes[1]
	}
	if got := asker.doFinal("fv " + holder.addr.String() + " " + protocol.KeyFromString(strKey).String()); got != "value "+value {
		t.Errorf("fv at %s, the closest node to the key: %q", holder.name, got)
	}

	// A bad command gets an error line, and the node goes on answering.
	for _, bad := range []string{"bogus", "get", "p nowhere", "ln 12345", "fv " + nodes[1].addr.String()} {
		a := nodes[6].do(bad)
		if len(a) != 1 || !strings.HasPrefix(a[0], "error: ") {
			t.Errorf("%q: %q, want one line starting \"error: \"", bad, a)
		}
	}
	if got := nodes[6].doFinal("p " + nodes[0].addr.String()); got != "pong "+nodes[0].contact().String() {
		t.Errorf("p after errors: %q", got)
	}

	// End of input leaves a node running: it still answers others.
	nodes[8].stdin.Close()
	if got := nodes[0].doFinal("p " + nodes[8].addr.String()); got != "pong "+nodes[8].contact().String() {
		t.Errorf("p of a node whose input ended: %q", got)
	}

	// SIGTERM (SIGINT for one) stops every node with status 0.
	stopStart := time.Now()
	for i, p := range nodes {
		if i == 0 {
			p.interrupt()
		} else {
			p.terminate()
		}
	}
	var wg sync.WaitGroup
	for _, p := range nodes {
		wg.Go(func() {
			code, err := p.wait(exitTimeout)
			if err != nil || code != 0 {
				t.Errorf("%s: after SIGTERM: exit status %d, %v", p.name, code, err)
			}
		})
	}
	wg.Wait()
	t.Logf("all stopped in %v; whole test %v", time.Since(stopStart).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
