package internet

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Options tune a Model. Zero values mean the defaults; a negative Loss, Jitter or
// SlowFraction means none.
type Options struct {
	// Seed draws every host's place, access delay and slowness. The same seed gives the
	// same host at the same address, whatever the order hosts are first seen in.
	Seed uint64
	// Loss is the probability that a message is lost. Default 0.01.
	Loss float64
	// Jitter adds to each message a delay drawn uniformly from [0, Jitter × its path's
	// one-way delay). Default 0.1.
	Jitter float64
	// SlowFraction of the hosts are slow: each of their messages, in or out, waits an
	// extra delay drawn from a Pareto distribution of scale SlowScale and shape 1.5
	// (heavy-tailed: mean 3 × SlowScale, no variance), at most MaxSlowDelay. Defaults
	// 0.05, 20 ms, 5 s.
	SlowFraction float64
	SlowScale    time.Duration
	MaxSlowDelay time.Duration
	// AccessMedian is the median one-way delay of a host's last mile (home or office
	// network and access link), drawn per host from a log-normal distribution of shape
	// AccessSigma. Defaults 7 ms and 0.7 (so p90 ≈ 17 ms).
	AccessMedian time.Duration
	AccessSigma  float64
	// Inflation is how much longer than the great circle an internet path is, travelled
	// at two thirds of the speed of light (in fibre). Default 1.65; the package
	// documentation says what round trips it yields.
	Inflation float64
}

// The defaults of Options.
const (
	DefaultLoss         = 0.01
	DefaultJitter       = 0.1
	DefaultSlowFraction = 0.05
	DefaultSlowScale    = 20 * time.Millisecond
	DefaultMaxSlowDelay = 5 * time.Second
	DefaultAccessMedian = 7 * time.Millisecond
	DefaultAccessSigma  = 0.7
	DefaultInflation    = 1.65
)

// fibreKmPerMs is two thirds of the speed of light, in kilometres a millisecond.
const fibreKmPerMs = 299_792.458 / 1000 * 2 / 3

// earthRadiusKm is the Earth's mean radius.
const earthRadiusKm = 6371.0

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&o.Loss, DefaultLoss)
	def(&o.Jitter, DefaultJitter)
	def(&o.SlowFraction, DefaultSlowFraction)
	def(&o.AccessSigma, DefaultAccessSigma)
	def(&o.Inflation, DefaultInflation)
	if o.SlowScale == 0 {
		o.SlowScale = DefaultSlowScale
	}
	if o.MaxSlowDelay == 0 {
		o.MaxSlowDelay = DefaultMaxSlowDelay
	}
	if o.AccessMedian == 0 {
		o.AccessMedian = DefaultAccessMedian
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Loss > 1:
		return fmt.Errorf("internet: loss %v is not a probability", o.Loss)
	case o.SlowFraction > 1:
		return fmt.Errorf("internet: slow fraction %v is more than 1", o.SlowFraction)
	case o.SlowScale < 0 || o.MaxSlowDelay < 0 || o.AccessMedian < 0:
		return fmt.Errorf("internet: negative delay")
	case o.Inflation < 1:
		return fmt.Errorf("internet: inflation %v is below 1: no path is shorter than the great circle", o.Inflation)
	}
	return nil
}

// Host is what the model knows of one host.
type Host struct {
	City     string
	Lat, Lon float64       // degrees
	Access   time.Duration // one-way delay of its last mile
	Slow     bool          // its messages wait a heavy-tailed extra delay
}

// Model places hosts on the map and gives each message between two of them its delay;
// it is a mem.Model. It is safe for concurrent use.
type Model struct {
	opts   Options
	cities []City
	cum    []float64 // cumulative weights of cities, for drawing one

	mu    sync.Mutex
	hosts map[[16]byte]*Host // by address, in its 16-byte form, which hashes fastest
}

// New returns a Model with opts.
func New(opts Options) (*Model, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m := &Model{opts: opts, cities: Cities, hosts: make(map[[16]byte]*Host)}
	total := 0.0
	for _, c := range m.cities {
		total += c.Weight
		m.cum = append(m.cum, total)
	}
	return m, nil
}

// Host returns the host at addr, placing it if it is new: a city drawn by weight, a spot
// up to 100 km from its centre, an access delay and whether it is slow, all drawn from a
// source seeded by the model's seed and addr alone.
func (m *Model) Host(addr netip.Addr) Host {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.hostLocked(addr)
}

func (m *Model) hostLocked(addr netip.Addr) *Host {
	a16 := addr.Unmap().As16()
	if h := m.hosts[a16]; h != nil {
		return h
	}
	rng := rand.New(rand.NewPCG(m.opts.Seed, binary.BigEndian.Uint64(a16[:8])^binary.BigEndian.Uint64(a16[8:])*0x9e3779b97f4a7c15))
	c := m.cities[m.pick(rng.Float64())]
	// A spot uniformly within 100 km of the centre.
	dist, bearing := 100*math.Sqrt(rng.Float64()), 2*math.Pi*rng.Float64()
	lat, lon := offset(c.Lat, c.Lon, dist, bearing)
	access := time.Duration(float64(m.opts.AccessMedian) * math.Exp(m.opts.AccessSigma*rng.NormFloat64()))
	h := &Host{City: c.Name, Lat: lat, Lon: lon, Access: access, Slow: rng.Float64() < m.opts.SlowFraction}
	m.hosts[a16] = h
	return h
}

// pick returns the index of the city whose cumulative weight first passes u × total.
func (m *Model) pick(u float64) int {
	target := u * m.cum[len(m.cum)-1]
	lo, hi := 0, len(m.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if m.cum[mid] <= target {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// OneWay returns the base one-way delay between two hosts: both access delays and the
// inflated great-circle path between them, without jitter, slowness or loss. It is
// symmetric.
func (m *Model) OneWay(a, b netip.Addr) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.oneWayLocked(m.hostLocked(a), m.hostLocked(b))
}

// RTT returns the base round trip between two hosts: twice OneWay.
func (m *Model) RTT(a, b netip.Addr) time.Duration { return 2 * m.OneWay(a, b) }

func (m *Model) oneWayLocked(a, b *Host) time.Duration {
	km := greatCircleKm(a.Lat, a.Lon, b.Lat, b.Lon)
	path := time.Duration(km * m.opts.Inflation / fibreKmPerMs * float64(time.Millisecond))
	return a.Access + b.Access + path
}

// Delay implements mem.Model.
func (m *Model) Delay(from, to netip.Addr, rng *rand.Rand) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.opts.Loss > 0 && rng.Float64() < m.opts.Loss {
		return 0, false
	}
	a, b := m.hostLocked(from), m.hostLocked(to)
	d := m.oneWayLocked(a, b)
	if m.opts.Jitter > 0 {
		d += time.Duration(rng.Float64() * m.opts.Jitter * float64(d))
	}
	for _, h := range [2]*Host{a, b} {
		if h.Slow {
			d += m.slowDelay(rng)
		}
	}
	return d, true
}

// slowDelay draws a slow host's extra delay: Pareto of shape 1.5, capped.
func (m *Model) slowDelay(rng *rand.Rand) time.Duration {
	const shape = 1.5
	u := 1 - rng.Float64() // (0, 1]
	d := float64(m.opts.SlowScale) * math.Pow(u, -1/shape)
	return time.Duration(min(d, float64(m.opts.MaxSlowDelay)))
}

// greatCircleKm is the haversine distance between two points given in degrees.
func greatCircleKm(lat1, lon1, lat2, lon2 float64) float64 {
	φ1, φ2 := lat1*math.Pi/180, lat2*math.Pi/180
	dφ, dλ := φ2-φ1, (lon2-lon1)*math.Pi/180
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

// offset returns the point dist kilometres from (lat, lon) along bearing (radians).
func offset(lat, lon, dist, bearing float64) (float64, float64) {
	φ1, λ1 := lat*math.Pi/180, lon*math.Pi/180
	δ := dist / earthRadiusKm
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(bearing))
	λ2 := λ1 + math.Atan2(math.Sin(bearing)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	return φ2 * 180 / math.Pi, math.Remainder(λ2*180/math.Pi, 360)
}
