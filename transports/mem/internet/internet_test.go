package internet_test

import (
	"context"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
	"kad/transports/mem/internet"
)

func host(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

func model(t *testing.T, opts internet.Options) *internet.Model {
	t.Helper()
	m, err := internet.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// quiet is a model without loss, jitter or slow hosts: each message takes the base delay.
var quiet = internet.Options{Seed: 1, Loss: -1, Jitter: -1, SlowFraction: -1}

// TestPlacementIsSeeded: a host's place depends on the seed and its address alone, not
// on the order hosts are first seen in.
func TestPlacementIsSeeded(t *testing.T) {
	a, b := model(t, internet.Options{Seed: 7}), model(t, internet.Options{Seed: 7})
	for i := 999; i >= 0; i-- {
		b.Host(host(i))
	}
	differ := 0
	c := model(t, internet.Options{Seed: 8})
	for i := range 1000 {
		if a.Host(host(i)) != b.Host(host(i)) {
			t.Fatalf("host %d placed at %+v and at %+v under the same seed", i, a.Host(host(i)), b.Host(host(i)))
		}
		if a.Host(host(i)) != c.Host(host(i)) {
			differ++
		}
	}
	if differ < 900 {
		t.Fatalf("only %d of 1000 hosts differ between seeds 7 and 8", differ)
	}
}

// TestRTTFollowsPositions: round trips are symmetric, keep the triangle inequality,
// grow with distance, and are never shorter than light in fibre takes.
func TestRTTFollowsPositions(t *testing.T) {
	m := model(t, quiet)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a, b, c := host(rng.IntN(5000)), host(rng.IntN(5000)), host(rng.IntN(5000))
		if m.RTT(a, b) != m.RTT(b, a) {
			t.Fatalf("RTT %v→%v %v, back %v", a, b, m.RTT(a, b), m.RTT(b, a))
		}
		if m.RTT(a, c) > m.RTT(a, b)+m.RTT(b, c) {
			t.Fatalf("triangle broken: %v > %v + %v", m.RTT(a, c), m.RTT(a, b), m.RTT(b, c))
		}
		ha, hb := m.Host(a), m.Host(b)
		fibre := 2 * greatCircleKm(ha, hb) / (299.792458 * 2 / 3) // ms
		if got := float64(m.RTT(a, b)) / float64(time.Millisecond); got < fibre {
			t.Fatalf("RTT %v ms between %s and %s, faster than light in fibre (%v ms)", got, ha.City, hb.City, fibre)
		}
	}
	// Two hosts of one city are closer than hosts an ocean apart.
	var ny, ny2, tokyo netip.Addr
	for i := 0; !ny2.IsValid() || !tokyo.IsValid(); i++ {
		switch h := host(i); m.Host(h).City {
		case "New York":
			if !ny.IsValid() {
				ny = h
			} else if !ny2.IsValid() {
				ny2 = h
			}
		case "Tokyo":
			tokyo = h
		}
	}
	if near, far := m.RTT(ny, ny2), m.RTT(ny, tokyo); near >= far || far < 100*time.Millisecond {
		t.Fatalf("New York–New York %v, New York–Tokyo %v", near, far)
	}
}

// greatCircleKm is the haversine distance, written again here so that the model is
// checked against a second writing of it.
func greatCircleKm(a, b internet.Host) float64 {
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Pow(math.Sin(dLat/2), 2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Pow(math.Sin(dLon/2), 2)
	return 2 * 6371 * math.Asin(math.Sqrt(h))
}

// TestCalibration: the median round trip between two random hosts more than 500 km
// apart is about 3.2 times what light in a vacuum takes along the great circle (2.1 times
// fibre), the inflation measured by Singla et al. (HotNets 2014) and taken as a rule of
// thumb by Bozkurt et al. (PAM 2017).
func TestCalibration(t *testing.T) {
	m := model(t, quiet)
	var ratios, rtts []float64
	for i := range 20000 {
		a, b := host(i), host(100000+i)
		rtt := float64(m.RTT(a, b)) / float64(time.Millisecond)
		rtts = append(rtts, rtt)
		if km := greatCircleKm(m.Host(a), m.Host(b)); km > 500 {
			ratios = append(ratios, rtt/(2*km/299.792458))
		}
	}
	slices.Sort(ratios)
	slices.Sort(rtts)
	median := ratios[len(ratios)/2]
	t.Logf("RTT p50 %.0f ms, p90 %.0f ms; median inflation over the speed of light %.2f", rtts[len(rtts)/2], rtts[len(rtts)*9/10], median)
	if median < 3.0 || median > 3.4 {
		t.Fatalf("median inflation %.2f, want about 3.2", median)
	}
}

// TestCitiesByWeight: hosts land in cities in proportion to their weights.
func TestCitiesByWeight(t *testing.T) {
	m := model(t, quiet)
	const n = 100000
	count := map[string]int{}
	for i := range n {
		count[m.Host(host(i)).City]++
	}
	total := 0.0
	for _, c := range internet.Cities {
		total += c.Weight
	}
	for _, c := range internet.Cities {
		want := c.Weight / total * n
		if got := float64(count[c.Name]); math.Abs(got-want) > 5*math.Sqrt(want)+5 {
			t.Errorf("%s: %v hosts, want about %.0f", c.Name, got, want)
		}
	}
}

// TestLossJitterSlow: the defaults lose about 1 % of messages, add up to 10 % jitter,
// and make about 5 % of hosts slow, whose messages take heavy-tailed extra time.
func TestLossJitterSlow(t *testing.T) {
	m := model(t, internet.Options{Seed: 3})
	rng := rand.New(rand.NewPCG(3, 4))
	lost, slowMsgs, n := 0, 0, 100000
	var extra []time.Duration
	for i := range n {
		a, b := host(i%3000), host(3000+i%1000)
		d, ok := m.Delay(a, b, rng)
		if !ok {
			lost++
			continue
		}
		base := m.OneWay(a, b)
		if m.Host(a).Slow || m.Host(b).Slow {
			slowMsgs++
			extra = append(extra, d-base)
			continue
		}
		if d < base || float64(d) >= 1.1*float64(base) {
			t.Fatalf("a message of a fast path took %v, base %v: jitter outside [0, 10 %%)", d, base)
		}
	}
	if rate := float64(lost) / float64(n); rate < 0.008 || rate > 0.012 {
		t.Errorf("loss %.4f, want about 0.01", rate)
	}
	slowHosts := 0
	for i := range 4000 {
		if m.Host(host(i)).Slow {
			slowHosts++
		}
	}
	if f := float64(slowHosts) / 4000; f < 0.04 || f > 0.06 {
		t.Errorf("%.3f of hosts slow, want about 0.05", f)
	}
	slices.Sort(extra)
	if p50, p99 := extra[len(extra)/2], extra[len(extra)*99/100]; p50 < internet.DefaultSlowScale || p99 < 10*p50 {
		t.Errorf("slow hosts' extra delay p50 %v, p99 %v: want at least the scale and a heavy tail", p50, p99)
	}
}

// TestOverMem: on a mem network, a call between two hosts takes their model round trip,
// in virtual time.
func TestOverMem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := model(t, quiet)
		nw, err := mem.NewNetwork(mem.Options{Model: m})
		if err != nil {
			t.Fatal(err)
		}
		var trs []*mem.Transport
		for range 10 {
			tr, err := nw.NewTransport()
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := tr.Serve(func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) { return req, nil }); err != nil {
				t.Fatal(err)
			}
			trs = append(trs, tr)
		}
		for i := 1; i < len(trs); i++ {
			start := time.Now()
			if _, _, err := trs[0].Call(t.Context(), protocol.Contact{Addr: trs[i].LocalAddr()}, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if got, want := time.Since(start), m.RTT(trs[0].LocalAddr().Addr(), trs[i].LocalAddr().Addr()); got != want {
				t.Fatalf("call to host %d took %v, model RTT %v", i, got, want)
			}
		}
	})
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []internet.Options{{Loss: 1.5}, {SlowFraction: 2}, {Inflation: 0.5}, {AccessMedian: -time.Millisecond}} {
		if _, err := internet.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
