package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSim runs a small `kad sim` (a few hundred nodes, a fixed latency of a few
// milliseconds) and checks what it did, not how fast: with no kill and no loss every get
// finds its value in at least one hop, and the last line is the JSON object with the
// figures scripts read.
func TestSim(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"kad", "sim", "--nodes", "100", "--values", "20", "--lookups", "100", "--seed", "7",
		"--latency-model", "fixed", "--latency", "2ms", "--progress", "0",
		// Few joins at once, and time enough for round trips on a loaded machine.
		"--join-parallel", "8", "--rpc-timeout", "10s"}
	if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("%q: exit status %d, stderr %q", args, code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q, want nothing", stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	t.Logf("%s", strings.Join(lines[:len(lines)-1], "\n"))
	last := []byte(lines[len(lines)-1])
	var fields map[string]any
	if err := json.Unmarshal(last, &fields); err != nil {
		t.Fatalf("last line %q: %v", last, err)
	}
	for _, f := range []string{"nodes", "success_rate", "hops_p50", "hops_p99", "rpcs_mean",
		"latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "cpu_idle", "wall_s", "cpu_s",
		"heap_per_node_bytes", "get", "lookup", "put"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("the JSON line lacks %q", f)
		}
	}
	var res struct {
		Nodes        int     `json:"nodes"`
		SuccessRate  float64 `json:"success_rate"`
		HopsP50      int     `json:"hops_p50"`
		HopsP99      int     `json:"hops_p99"`
		RPCsMean     float64 `json:"rpcs_mean"`
		LatencyP50MS float64 `json:"latency_p50_ms"`
		LatencyP90MS float64 `json:"latency_p90_ms"`
		LatencyP99MS float64 `json:"latency_p99_ms"`
		Get          struct {
			Count int `json:"count"`
			OK    int `json:"ok"`
		} `json:"get"`
	}
	if err := json.Unmarshal(last, &res); err != nil {
		t.Fatal(err)
	}
	if res.Nodes != 100 || res.Get.Count != 100 || res.Get.OK != 100 || res.SuccessRate != 1 {
		t.Errorf("nodes %d, %d of %d gets found their value (success rate %v); want 100 nodes, every get",
			res.Nodes, res.Get.OK, res.Get.Count, res.SuccessRate)
	}
	if res.HopsP50 < 1 || res.HopsP99 < res.HopsP50 || res.RPCsMean < 1 {
		t.Errorf("hops p50 %d p99 %d, %v RPCs per lookup; want at least 1 hop and 1 RPC", res.HopsP50, res.HopsP99, res.RPCsMean)
	}
	if !(0 < res.LatencyP50MS && res.LatencyP50MS <= res.LatencyP90MS && res.LatencyP90MS <= res.LatencyP99MS) {
		t.Errorf("latency p50 %v p90 %v p99 %v ms, want 0 < p50 ≤ p90 ≤ p99", res.LatencyP50MS, res.LatencyP90MS, res.LatencyP99MS)
	}
}

// TestSimScenario runs `kad sim` with churn and a plot: the JSON line has the timeline
// of the rounds of gets during the churn, and the plot is a PNG.
func TestSimScenario(t *testing.T) {
	var stdout, stderr bytes.Buffer
	path := filepath.Join(t.TempDir(), "sim.png")
	args := []string{"kad", "sim", "--nodes", "50", "--values", "10", "--lookups", "10", "--seed", "3",
		"--latency-model", "fixed", "--latency", "2ms", "--progress", "0", "--join-parallel", "8", "--rpc-timeout", "1s",
		"--churn-median", "1h", "--duration", "20m", "--time-scale", "720", "--sample", "5m", "--sample-gets", "20",
		"--plot", path}
	if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("%q: exit status %d, stderr %q", args, code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	t.Logf("%s", strings.Join(lines[:len(lines)-1], "\n"))
	var res struct {
		Left       int      `json:"left"`
		SuccessMin *float64 `json:"success_min"`
		Timeline   []struct {
			AtS         float64 `json:"at_s"`
			Live        int     `json:"live"`
			Gets        int     `json:"gets"`
			SuccessRate float64 `json:"success_rate"`
		} `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	if res.Left == 0 || len(res.Timeline) != 4 || res.SuccessMin == nil {
		t.Fatalf("%d left, %d samples, success_min %v; want some, 4 and a rate", res.Left, len(res.Timeline), res.SuccessMin)
	}
	for _, sm := range res.Timeline {
		if sm.AtS <= 0 || sm.Live == 0 || sm.Gets == 0 || sm.SuccessRate < *res.SuccessMin {
			t.Errorf("sample %+v (success_min %v)", sm, *res.SuccessMin)
		}
	}
	if !strings.Contains(stdout.String(), "written to "+path) {
		t.Errorf("stdout does not name the plot %s", path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// TestSimUsageErrors checks that a bad flag of `kad sim` ends it with status 2 and one
// line on stderr naming the flag, as for `kad bench`.
func TestSimUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the stderr line
	}{
		{name: "one node", args: []string{"--nodes", "1"}, want: "--nodes 1: want 2..200000"},
		{name: "no nodes", args: []string{"--nodes", "0"}, want: "--nodes 0: want 2.."},
		{name: "too many nodes", args: []string{"--nodes", "300000"}, want: "--nodes 300000"},
		{name: "no values", args: []string{"--values", "0"}, want: "--values 0"},
		{name: "no lookups", args: []string{"--lookups", "0"}, want: "--lookups 0"},
		{name: "unknown reachability", args: []string{"--reachability", "client"}, want: `--reachability "client": want auto or public`},
		{name: "unknown model", args: []string{"--latency-model", "moon"}, want: `--latency-model "moon": want fixed or internet`},
		{name: "empty model", args: []string{"--latency-model", ""}, want: "--latency-model"},
		{name: "zero latency", args: []string{"--latency", "0s"}, want: "--latency 0s: want more than 0"},
		{name: "loss over 1", args: []string{"--loss", "1.5"}, want: "--loss 1.5: want 0..1"},
		{name: "negative nat", args: []string{"--nat", "-0.1"}, want: "--nat -0.1"},
		{name: "kill everyone", args: []string{"--nodes", "10", "--kill", "1"}, want: "--kill 1: want at most 8 of 10"},
		{name: "negative maintain", args: []string{"--maintain", "-1s"}, want: "--maintain"},
		{name: "time scale below 1", args: []string{"--time-scale", "0.5"}, want: "--time-scale 0.5: want 1..3600"},
		{name: "zero time scale", args: []string{"--time-scale", "0"}, want: "--time-scale 0"},
		{name: "alpha over k", args: []string{"--k", "4", "--alpha", "5"}, want: "--alpha 5: want 1..K (4)"},
		{name: "no join parallel", args: []string{"--join-parallel", "0"}, want: "--join-parallel 0"},
		{name: "too many join peers", args: []string{"--join-peers", "100"}, want: "--join-peers 100"},
		{name: "no parallel", args: []string{"--parallel", "0"}, want: "--parallel 0"},
		{name: "zero rpc timeout", args: []string{"--rpc-timeout", "0s"}, want: "--rpc-timeout 0s"},
		{name: "zero nat timeout", args: []string{"--nat-timeout", "0s"}, want: "--nat-timeout 0s"},
		{name: "bad timeout", args: []string{"--timeout", "soon"}, want: "soon"},
		{name: "negative progress", args: []string{"--progress", "-1s"}, want: "--progress"},
		{name: "bad seed", args: []string{"--seed", "-3"}, want: "-3"},
		{name: "churn without duration", args: []string{"--churn-median", "1h"}, want: "--duration 0s: want more than 0 with churn"},
		{name: "negative churn median", args: []string{"--churn-median", "-1h", "--duration", "1h"}, want: "--churn-median -1h0m0s: want 0..168h0m0s"},
		{name: "churn too fast", args: []string{"--churn-median", "1ns", "--duration", "24h"}, want: "--churn-median 1ns: want sessions long enough"},
		{name: "zero churn shape", args: []string{"--churn-shape", "0"}, want: "--churn-shape 0: want more than 0, at most 10"},
		{name: "churn shape over 10", args: []string{"--churn-shape", "11"}, want: "--churn-shape 11"},
		{name: "long duration", args: []string{"--duration", "200h"}, want: "--duration 200h0m0s: want 0..168h0m0s"},
		{name: "partition over 1", args: []string{"--partition", "1.5"}, want: "--partition 1.5: want 0..1"},
		{name: "partition of nobody", args: []string{"--nodes", "10", "--partition", "0.05", "--partition-for", "1h"}, want: "--partition 0.05: want a fraction"},
		{name: "partition forever", args: []string{"--partition", "0.5"}, want: "--partition-for 0s: want more than 0"},
		{name: "partition past the end", args: []string{"--partition", "0.5", "--partition-for", "2h", "--duration", "1h"}, want: "--partition-for 2h0m0s: want at most the duration"},
		{name: "too many samples", args: []string{"--duration", "24h", "--sample", "1s"}, want: "--sample 1s: want at least"},
		{name: "negative sample", args: []string{"--duration", "24h", "--sample", "-1m"}, want: "--sample -1m0s"},
		{name: "no sample gets", args: []string{"--sample-gets", "0"}, want: "--sample-gets 0"},
		{name: "adversarial over 1", args: []string{"--adversarial", "1.5"}, want: "--adversarial 1.5: want 0..1"},
		{name: "adversarial everyone", args: []string{"--nodes", "10", "--adversarial", "0.95"}, want: "--adversarial 0.95: want at most 8 of 10"},
		{name: "disjoint over k", args: []string{"--k", "4", "--disjoint", "5"}, want: "--disjoint 5: want 0..K (4)"},
		{name: "negative disjoint", args: []string{"--disjoint", "-1"}, want: "--disjoint -1"},
		{name: "plot format", args: []string{"--plot", "sim.gif"}, want: `--plot "sim.gif": want a file name ending in .png`},
		{name: "empty plot", args: []string{"--plot", ""}, want: `--plot ""`},
		{name: "unknown flag", args: []string{"--churn", "0.1"}, want: "unknown flag --churn"},
		{name: "argument", args: []string{"extra"}, want: "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantUsageError(t, append([]string{"kad", "sim"}, tt.args...), tt.want)
		})
	}
}
