package churn_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"kad/internal/churn"
)

// TestSessionsFollowTheDistribution: session lengths have the median asked for, and a
// heavy tail: the Weibull of shape 0.5 has p90/p50 = (ln 10 / ln 2)² ≈ 11.
func TestSessionsFollowTheDistribution(t *testing.T) {
	s := churn.NewSessions(1, time.Hour, 0.5)
	const n = 100000
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = s.Draw()
	}
	slices.Sort(d)
	p50, p90 := d[n/2], d[n*9/10]
	if math.Abs(p50.Hours()-1) > 0.03 {
		t.Errorf("median session %v, want 1h", p50)
	}
	want := math.Pow(math.Log(10)/math.Ln2, 2)
	if got := float64(p90) / float64(p50); math.Abs(got-want) > 0.05*want {
		t.Errorf("p90/p50 %.2f, want %.2f", got, want)
	}
	// Shape 1 is the exponential: p90/p50 = ln 10 / ln 2 ≈ 3.3.
	e := churn.NewSessions(1, time.Hour, 1)
	for i := range d {
		d[i] = e.Draw()
	}
	slices.Sort(d)
	if got := float64(d[n*9/10]) / float64(d[n/2]); math.Abs(got-math.Log(10)/math.Ln2) > 0.15 {
		t.Errorf("exponential p90/p50 %.2f, want 3.32", got)
	}
}

// TestSchedule: departures come in time order, within the duration, from every slot, as
// many as the session lengths call for; the same seed gives the same schedule.
func TestSchedule(t *testing.T) {
	opts := churn.Options{Seed: 3, Slots: 2000, Duration: 24 * time.Hour, MedianSession: time.Hour}
	a, err := churn.Schedule(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := churn.Schedule(opts)
	if !slices.Equal(a, b) {
		t.Fatal("the same options gave two schedules")
	}
	opts.Seed = 4
	if c, _ := churn.Schedule(opts); slices.Equal(a, c) {
		t.Fatal("seeds 3 and 4 gave the same schedule")
	}
	slots := map[int]int{}
	for i, e := range a {
		if e.At < 0 || e.At >= 24*time.Hour || e.Slot < 0 || e.Slot >= 2000 {
			t.Fatalf("event %d out of range: %+v", i, e)
		}
		if i > 0 && e.At < a[i-1].At {
			t.Fatalf("event %d before event %d", i, i-1)
		}
		slots[e.Slot]++
	}
	// A Weibull(k = 0.5) session, λ = 1h/(ln 2)² ≈ 2.08h, has mean μ = λ·Γ(3) = 2λ and
	// variance σ² = λ²·Γ(5) − μ² = 20λ². Renewal theory gives T/μ + (σ² − μ²)/(2μ²)
	// = 24h/4.16h + 2 ≈ 7.8 departures a slot in T = 24 h.
	per := float64(len(a)) / 2000
	if per < 7 || per > 8.6 {
		t.Fatalf("%.1f departures a slot in 24 h, want about 7.8", per)
	}
	if len(slots) < 1500 {
		t.Fatalf("only %d of 2000 slots churned", len(slots))
	}
}

func TestScheduleRefuses(t *testing.T) {
	for _, o := range []churn.Options{
		{Slots: 1, Duration: time.Hour},
		{Slots: -1, Duration: time.Hour, MedianSession: time.Hour},
		{Slots: 1, Duration: time.Hour, MedianSession: time.Hour, Shape: -1},
	} {
		if _, err := churn.Schedule(o); err == nil {
			t.Errorf("Schedule(%+v) accepted", o)
		}
	}
	_, err := churn.Schedule(churn.Options{Slots: 100, Duration: 24 * time.Hour, MedianSession: time.Minute, MaxEvents: 1000})
	if !errors.Is(err, churn.ErrTooMany) {
		t.Errorf("an over-long schedule: %v, want ErrTooMany", err)
	}
}
