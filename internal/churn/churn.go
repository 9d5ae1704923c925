// Package churn draws the schedule of a network whose nodes come and go: each of a fixed
// number of slots holds one node at a time, whose session lasts a time drawn from a
// heavy-tailed Weibull distribution; when it ends, the node leaves without a word and a
// new node, with a new identity, takes the slot. Stutzbach and Rejaie ("Understanding
// Churn in Peer-to-Peer Networks", IMC 2006) found the session lengths of Kad, BitTorrent
// and Gnutella peers heavy-tailed and well fitted by Weibull distributions of shape well
// below 1; the default shape here is 0.5.
//
//	events, err := churn.Schedule(churn.Options{Seed: 1, Slots: 10000, Duration: 24 * time.Hour, MedianSession: time.Hour})
//	for _, e := range events { ... } // in time order: e.Slot's node leaves, and a new one joins
//
// The same options give the same schedule.
package churn

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Options set up a schedule.
type Options struct {
	Seed uint64
	// Slots is how many nodes the network holds at any time.
	Slots int
	// Duration is how long the schedule runs.
	Duration time.Duration
	// MedianSession is the median time a node stays.
	MedianSession time.Duration
	// Shape is the Weibull shape of session lengths: below 1 is heavy-tailed (most
	// sessions short, a few very long), 1 is exponential. Default 0.5.
	Shape float64
	// MaxEvents bounds the schedule's length. Default 10,000,000.
	MaxEvents int
}

// DefaultShape is the default Weibull shape of session lengths.
const DefaultShape = 0.5

// Event is one departure: the node in Slot leaves At this time after the start, and a new
// node joins in its place at the same time.
type Event struct {
	At   time.Duration
	Slot int
}

// ErrTooMany is returned when the schedule would pass MaxEvents.
var ErrTooMany = errors.New("churn: schedule too long")

// Schedule returns the departures of opts's network, in time order. The nodes present at
// the start are taken to have just joined.
func Schedule(opts Options) ([]Event, error) {
	if opts.Shape == 0 {
		opts.Shape = DefaultShape
	}
	if opts.MaxEvents == 0 {
		opts.MaxEvents = 10_000_000
	}
	switch {
	case opts.Slots < 0 || opts.Duration < 0:
		return nil, fmt.Errorf("churn: negative slots %d or duration %v", opts.Slots, opts.Duration)
	case opts.MedianSession <= 0:
		return nil, fmt.Errorf("churn: median session %v, want more than 0", opts.MedianSession)
	case !(opts.Shape > 0 && opts.Shape <= 10):
		return nil, fmt.Errorf("churn: shape %v, want 0 < shape ≤ 10", opts.Shape)
	}
	s := NewSessions(opts.Seed, opts.MedianSession, opts.Shape)
	var events []Event
	for slot := range opts.Slots {
		for at := s.Draw(); at < opts.Duration; at += s.Draw() {
			if len(events) == opts.MaxEvents {
				return nil, fmt.Errorf("%w: more than %d departures", ErrTooMany, opts.MaxEvents)
			}
			events = append(events, Event{At: at, Slot: slot})
		}
	}
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Slot, b.Slot))
	})
	return events, nil
}

// Sessions draws session lengths from a Weibull distribution of a given median and
// shape.
type Sessions struct {
	rng   *rand.Rand
	scale float64 // the Weibull scale λ, in nanoseconds
	shape float64
}

// NewSessions returns a source of session lengths with the given median and shape,
// seeded.
func NewSessions(seed uint64, median time.Duration, shape float64) *Sessions {
	// The median of Weibull(λ, k) is λ (ln 2)^(1/k).
	scale := float64(median) / math.Pow(math.Ln2, 1/shape)
	return &Sessions{rng: rand.New(rand.NewPCG(seed, seed^0xc2b2ae3d27d4eb4f)), scale: scale, shape: shape}
}

// Draw returns one session length, at least a nanosecond.
func (s *Sessions) Draw() time.Duration {
	u := 1 - s.rng.Float64() // (0, 1]
	d := s.scale * math.Pow(-math.Log(u), 1/s.shape)
	return time.Duration(max(1, min(d, float64(math.MaxInt64/4))))
}
