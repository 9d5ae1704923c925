package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kad/internal/figures"
)

// Sizes of the kill-a-third replay: the cluster of the speed issue's first measurement
// (30 processes, k 4), and operations per phase.
const (
	killClusterSize = 30
	killK           = 4
	killOps         = 200
	killOpTimeout   = 10 * time.Second
)

// TestKillThirdFigures replays a third of a cluster of kad node processes killed without
// notice: 30 nodes with k 4 and an HTTP API each; puts and gets through the APIs of nodes
// that survive, before and right after SIGKILL of 10 of them, and the ratios of the
// figures after to those before. The gets after the kill ask for the keys put before it,
// some of whose holders are dead. It runs only with KAD_KILL_FIGURES set (to udp, quic
// or all) and logs its figures: KAD_KILL_FIGURES=all go test -run TestKillThirdFigures
// -v ./integration/ (BENCHMARKS.md).
func TestKillThirdFigures(t *testing.T) {
	which := os.Getenv("KAD_KILL_FIGURES")
	if which == "" {
		t.Skip("set KAD_KILL_FIGURES=udp, quic or all to replay the kill of a third of a cluster")
	}
	for _, transport := range transportNames {
		if which != "all" && which != transport {
			continue
		}
		t.Run(transport, func(t *testing.T) { killThirdFigures(t, transport) })
	}
}

// apiNode is a node process and the base URL of its API.
type apiNode struct {
	*proc
	api string
}

func killThirdFigures(t *testing.T, transport string) {
	rng := rand.New(rand.NewPCG(7, killClusterSize))
	args := append(nodeArgs(transport), "--k", fmt.Sprint(killK), "--api", "127.0.0.1:0")
	var nodes []apiNode
	for i := range killClusterSize {
		a := args
		if i > 0 {
			a = append(a, "--bootstrap", nodes[0].contact().String())
			if i > 2 {
				a = append(a, "--bootstrap", nodes[1+rng.IntN(i-1)].contact().String())
			}
		}
		p := startNode(t, fmt.Sprintf("%s-%d", transport, i), a...)
		line, err := p.readLine(startTimeout)
		if err != nil || !strings.HasPrefix(line, "api http://127.0.0.1:") {
			t.Fatalf("%s: the line after the node line: %q, %v; want api http://127.0.0.1:PORT", p.name, line, err)
		}
		nodes = append(nodes, apiNode{proc: p, api: strings.TrimPrefix(line, "api ")})
	}
	for _, n := range nodes {
		n.doFinal("id") // the console answers once the node has joined
	}
	// Let every node's table settle after the last join, as a running cluster's has.
	time.Sleep(2 * time.Second)

	// A third of the nodes, never the first (every node joined through it), die.
	order := rng.Perm(killClusterSize - 1)
	killed := map[int]bool{}
	for _, i := range order[:killClusterSize/3] {
		killed[1+i] = true
	}
	var survivors []apiNode
	for i, n := range nodes {
		if !killed[i] {
			survivors = append(survivors, n)
		}
	}
	// short counts the puts stored on fewer than k nodes: when the lookup, its dead
	// candidates timed out, knows fewer than k live ones.
	var short atomic.Int64
	client := &http.Client{Timeout: killOpTimeout}
	defer client.CloseIdleConnections()
	do := func(method, url, body string) (time.Duration, error) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return time.Since(start), err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			return took, err
		}
		if resp.StatusCode != http.StatusOK {
			return took, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
		}
		if method == http.MethodGet && string(b) != body {
			return took, fmt.Errorf("GET %s: %q, want %q", url, b, body)
		}
		if method == http.MethodPut {
			var st struct{ Replicas int }
			if err := json.Unmarshal(b, &st); err != nil || st.Replicas < 1 {
				return took, fmt.Errorf("PUT %s: %s: want replicas (%v)", url, b, err)
			}
			if st.Replicas < killK {
				short.Add(1)
			}
		}
		return took, nil
	}
	valueOf := func(key string) string { return "value of " + key }
	type phase struct {
		name     string
		lat      []time.Duration
		ok, fail int
	}
	run := func(name, method string, keys []string) phase {
		ph := phase{name: name}
		for _, key := range keys {
			via := survivors[rng.IntN(len(survivors))]
			took, err := do(method, via.api+"/v1/values/"+key, valueOf(key))
			if err != nil {
				ph.fail++
				if ph.fail == 1 {
					t.Logf("%s: first failure, through %s: %v", name, via.name, err)
				}
				continue
			}
			ph.ok++
			ph.lat = append(ph.lat, took)
		}
		return ph
	}
	keys := func(prefix string) []string {
		k := make([]string, killOps)
		for i := range k {
			k[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
		return k
	}
	early := keys("before")
	putBefore := run("put before", http.MethodPut, early)
	getBefore := run("get before", http.MethodGet, early)
	if putBefore.fail > 0 || getBefore.fail > 0 {
		t.Errorf("before the kill: %d puts and %d gets failed, want none", putBefore.fail, getBefore.fail)
	}

	for i := range killed {
		if err := nodes[i].cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range killed {
		if _, err := nodes[i].wait(killTimeout); err != nil {
			t.Fatal(err)
		}
	}
	killedAt := time.Now()
	shortBefore := short.Swap(0)
	getAfter := run("get after", http.MethodGet, early)
	putAfter := run("put after", http.MethodPut, keys("after"))
	t.Logf("%s: %d of %d nodes killed; the phases after took %v", transport, len(killed), killClusterSize, time.Since(killedAt).Round(time.Millisecond))

	t.Logf("%-11s %5s %5s %10s %10s %10s %10s", "phase", "ok", "fail", "p50", "p90", "p99", "max")
	sums := map[string]figures.Latencies{}
	for _, ph := range []phase{putBefore, getBefore, getAfter, putAfter} {
		s := figures.Summarize(ph.lat)
		sums[ph.name] = s
		t.Logf("%-11s %5d %5d %10v %10v %10v %10v", ph.name, ph.ok, ph.fail,
			s.P50.Round(time.Microsecond), s.P90.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Max.Round(time.Microsecond))
	}
	t.Logf("%s: get p99 after/before %.2f× (goal ≤ 3×), put p50 after/before %.2f× (goal ≤ 2×), gets found after %d/%d",
		transport,
		figures.Ratio(float64(sums["get after"].P99), float64(sums["get before"].P99)),
		figures.Ratio(float64(sums["put after"].P50), float64(sums["put before"].P50)),
		getAfter.ok, len(early))
	t.Logf("%s: puts stored on fewer than %d nodes: %d before the kill, %d after", transport, killK, shortBefore, short.Load())
	// With k 4, a key all four of whose holders died is lost until someone puts it
	// again: (1/3)^4 of them, about 1 %. Many more lost means the survivors did not
	// find the holders that live.
	if lost := getAfter.fail; lost > len(early)/20 {
		t.Errorf("after the kill, %d of %d gets failed, want at most %d", lost, len(early), len(early)/20)
	}
	if putAfter.fail > 0 {
		t.Errorf("after the kill, %d of %d puts failed, want none", putAfter.fail, killOps)
	}
	for _, n := range survivors {
		n.stop()
	}
}
