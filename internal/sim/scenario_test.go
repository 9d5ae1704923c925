package sim

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestChurn: nodes leave and new ones join in their place through the scenario, and in
// a small network of 20 replicas per value every round of gets still finds nearly all.
func TestChurn(t *testing.T) {
	res := smallRun(t, Config{Nodes: 100, Values: 20, Lookups: 20, Seed: 8, RPCTimeout: time.Second,
		ChurnMedian: 3 * time.Hour, Duration: 40 * time.Minute, TimeScale: 160, Sample: 10 * time.Minute, SampleGets: 50})
	if res.Left == 0 || res.Joined == 0 {
		t.Fatalf("%d left, %d joined: the churn replaced no node", res.Left, res.Joined)
	}
	if got := res.Joined + res.ChurnJoinFailed + res.ChurnJoining; got > res.Left {
		t.Errorf("%d newcomers joined, failed or waited, more than the %d that left", got, res.Left)
	}
	if res.Live > res.Nodes || res.Live < res.Nodes-res.Left {
		t.Errorf("%d live after %d of %d left and %d joined", res.Live, res.Left, res.Nodes, res.Joined)
	}
	if len(res.Timeline) != 4 {
		t.Fatalf("%d samples, want 4 (one every 10 min of 40)", len(res.Timeline))
	}
	prev := 0.0
	for _, sm := range res.Timeline {
		if sm.AtS <= prev || sm.Gets == 0 || sm.Live == 0 || sm.Gets > 50 {
			t.Errorf("sample %+v: want a later time, live nodes and up to 50 gets", sm)
		}
		prev = sm.AtS
	}
	if last := res.Timeline[len(res.Timeline)-1]; last.Left == 0 {
		t.Errorf("the last sample counts no departure: %+v", last)
	}
	if res.SuccessMin == nil || *res.SuccessMin < 0.9 {
		t.Errorf("least success over the timeline %v, want at least 0.9", res.SuccessMin)
	}
	if res.Get.SuccessRate < 0.95 {
		t.Errorf("gets after the churn: %.2f found (first failure %q), want at least 0.95", res.Get.SuccessRate, res.Get.FirstError)
	}
	if res.RecordTTLS < 24*3600 {
		t.Errorf("records live %v s, want at least tExpire", res.RecordTTLS)
	}
	checkPlot(t, res)
}

// TestChurnSeed: the same seed makes the same nodes leave in the same order, the
// newcomers' identities included.
func TestChurnSeed(t *testing.T) {
	cfg := Config{Nodes: 40, Values: 5, Lookups: 10, Seed: 11, RPCTimeout: time.Second,
		ChurnMedian: 30 * time.Minute, Duration: 10 * time.Minute, TimeScale: 720, SampleGets: 10}
	a, b := smallRun(t, cfg), smallRun(t, cfg)
	if len(a.leavers) == 0 {
		t.Fatal("no node left")
	}
	if !slices.Equal(a.leavers, b.leavers) {
		t.Errorf("two runs of seed %d: %d and %d leavers, not the same", cfg.Seed, len(a.leavers), len(b.leavers))
	}
	events, err := cfg.withDefaults().schedule()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.leavers) != len(events) {
		t.Errorf("%d left, the schedule has %d departures", len(a.leavers), len(events))
	}
	cfg.Seed++
	other, err := cfg.withDefaults().schedule()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(events, other) {
		t.Errorf("seeds %d and %d give the same schedule", cfg.Seed-1, cfg.Seed)
	}
}

// TestPartition: while half the nodes are cut off, a get of a key that only the other
// side holds fails; once the network heals every get succeeds.
func TestPartition(t *testing.T) {
	// With 3 replicas a value, and the publisher's own copy, about one key in eight has
	// all its copies on one side, and one get in sixteen is of a key held only across.
	res := smallRun(t, Config{Nodes: 120, Values: 40, Lookups: 50, Seed: 9, K: 3, RPCTimeout: 2 * time.Second,
		Partition: 0.5, PartitionFor: time.Hour, TimeScale: 720, Sample: 25 * time.Minute, SampleGets: 150})
	if res.Split != 60 {
		t.Errorf("%d split off, want 60", res.Split)
	}
	var during, after []Sample
	for _, sm := range res.Timeline {
		switch {
		case sm.Partitioned:
			during = append(during, sm)
		case sm.AtS > res.PartitionForS:
			after = append(after, sm)
		}
	}
	if len(during) == 0 || len(after) == 0 {
		t.Fatalf("%d samples during the partition, %d after: want some of each (timeline %+v)", len(during), len(after), res.Timeline)
	}
	cross := 0
	for _, sm := range during {
		cross += sm.CrossGets
		if sm.CrossOK != 0 {
			t.Errorf("at %v s, %d of %d gets of keys held only across the cut succeeded", sm.AtS, sm.CrossOK, sm.CrossGets)
		}
		if sm.SplitGets == 0 || sm.SplitGets == sm.Gets {
			t.Errorf("at %v s, %d of %d gets from the side split off: want some from each side", sm.AtS, sm.SplitGets, sm.Gets)
		}
	}
	if cross == 0 {
		t.Error("no get during the partition was of a key held only across the cut")
	}
	for _, sm := range after {
		if sm.SuccessRate < 0.95 || sm.CrossGets != 0 {
			t.Errorf("after healing, at %v s: %d of %d gets succeeded, %d cross", sm.AtS, sm.OK, sm.Gets, sm.CrossGets)
		}
	}
	if res.Get.SuccessRate < 0.95 {
		t.Errorf("gets after healing: %.2f found (first failure %q)", res.Get.SuccessRate, res.Get.FirstError)
	}
}

// checkPlot writes res's figure as a PNG and decodes it.
func checkPlot(t *testing.T, res *Result) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sim.png")
	if err := WritePlot(path, res); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 3*b.Dy() {
		t.Errorf("%s is %v, want three panels side by side", path, b)
	}
}
