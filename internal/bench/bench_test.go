package bench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSetLatencies(t *testing.T) {
	var p Phase
	p.setLatencies([]time.Duration{4 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond})
	if p.P50US != 2000 || p.P90US != 4000 || p.P99US != 4000 || p.MaxUS != 4000 || p.MeanUS != 2500 {
		t.Errorf("got p50 %v p90 %v p99 %v max %v mean %v", p.P50US, p.P90US, p.P99US, p.MaxUS, p.MeanUS)
	}
	if lat := p.Latencies(); len(lat) != 4 || lat[0] != time.Millisecond || lat[3] != 4*time.Millisecond {
		t.Errorf("latencies %v, want sorted", lat)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	tests := []struct {
		name  string
		cfg   Config
		field string // of Config, named by the error
	}{
		{name: "one node", cfg: Config{Nodes: 1}, field: "Nodes"},
		{name: "too many nodes", cfg: Config{Nodes: MaxNodes + 1}, field: "Nodes"},
		{name: "negative ops", cfg: Config{Ops: -1}, field: "Ops"},
		{name: "transport", cfg: Config{Transport: "tcp"}, field: "Transport"},
		{name: "parallel", cfg: Config{Parallel: MaxParallel + 1}, field: "Parallel"},
		{name: "value size", cfg: Config{ValueSize: 1 << 20}, field: "ValueSize"},
		{name: "k", cfg: Config{K: 1000}, field: "K"},
		{name: "alpha", cfg: Config{K: 2, Alpha: 3}, field: "Alpha"},
		{name: "bootstrap peers", cfg: Config{BootstrapPeers: -1}, field: "BootstrapPeers"},
		{name: "timeout", cfg: Config{OpTimeout: -time.Second}, field: "OpTimeout"},
		{name: "rpc timeout", cfg: Config{RPCTimeout: -time.Second}, field: "RPCTimeout"},
		{name: "progress", cfg: Config{ProgressEvery: -time.Second}, field: "ProgressEvery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Errorf("Validate() = %v, want a *ConfigError naming %s", err, tt.field)
			}
			if _, rerr := Run(context.Background(), tt.cfg); rerr == nil {
				t.Errorf("Run accepted %+v", tt.cfg)
			}
		})
	}
}

// TestRunMem runs a small cluster in memory and checks the table and the figures.
func TestRunMem(t *testing.T) {
	var out bytes.Buffer
	res, err := Run(context.Background(), Config{Nodes: 8, Ops: 12, Parallel: 3, K: 3, Transport: TransportMem, Seed: 9, IdleWait: -1, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"8 nodes over mem", "bootstrap:", "idle node:", "put    sequential", "lookup parallel", "after the phases"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	for _, p := range res.Phases() {
		if p.OK != 12 || p.Failed != 0 || len(p.Latencies()) != 12 {
			t.Errorf("%s: ok %d failed %d (%s), %d latencies", p.Name(), p.OK, p.Failed, p.FirstError, len(p.Latencies()))
		}
		if p.Op == opGet && p.Local != 0 {
			t.Errorf("%s: %d local gets with k 3 of 8 nodes", p.Name(), p.Local)
		}
	}
	if res.GoroutinesLeft != 0 {
		t.Errorf("%d goroutines left after the nodes closed", res.GoroutinesLeft)
	}
	line, err := res.JSON()
	if err != nil || bytes.ContainsRune(line, '\n') {
		t.Errorf("JSON: %v, %q", err, line)
	}
}

// TestRunCanceled checks that a canceled run stops, with every node closed (TestMain
// checks that no goroutine is left).
func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Config{Nodes: 5, Ops: 5, Transport: TransportUDP, IdleWait: -1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
}

// cancelOn is a progress writer that cancels a run once a line names the phase.
type cancelOn struct {
	phase  string
	cancel context.CancelFunc
}

func (c cancelOn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(c.phase)) {
		c.cancel()
	}
	return len(b), nil
}

// TestRunCanceledInPhase cancels a run that would take many seconds during its first
// phase.
func TestRunCanceledInPhase(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, Config{Nodes: 6, Ops: 100_000, K: 2, Alpha: 1, Transport: TransportMem,
		Progress: cancelOn{"put sequential", cancel}, ProgressEvery: 20 * time.Millisecond, IdleWait: -1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
	t.Logf("stopped after %v", time.Since(start))
}
