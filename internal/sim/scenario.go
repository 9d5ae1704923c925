package sim

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"kad/internal/figures"
	"kad/protocol"
)

// An action of the scenario, at a simulated time after its start.
type action struct {
	at   time.Duration
	kind actionKind
	slot int // of the churn, for leave
}

type actionKind uint8

const (
	actSplit actionKind = iota // split Partition of the live nodes off
	actHeal                    // end the partition
	actLeave                   // the slot's node leaves and a new one joins
)

// scenario kills cfg.Kill of the nodes at once, then, for the scenario's length, runs
// the churn and the partition while rounds of gets sample the network's health into
// the timeline. It returns once the newcomers' joins have ended, with s.live set to the
// nodes up and joined.
func (s *sim) scenario(ctx context.Context) error {
	s.kill()
	length := s.cfg.scenarioLength()
	if length > 0 {
		if err := s.timeline(ctx, length); err != nil {
			return err
		}
	}
	s.world.mu.Lock()
	s.live = s.world.live.sorted()
	w := &s.world
	s.res.Left, s.res.Joined, s.res.ChurnJoinFailed = w.left, w.joined, w.joinFailed
	for i := s.cfg.Nodes; i < len(w.state) && s.nodes[i] != nil; i++ {
		if w.state[i] == stateJoining {
			s.res.ChurnJoining++
		}
	}
	for _, i := range w.leavers {
		s.res.leavers = append(s.res.leavers, s.nodes[i].ID())
	}
	took := w.joinTook
	s.world.mu.Unlock()
	l := figures.Summarize(took)
	s.res.ChurnJoinP50MS, s.res.ChurnJoinP99MS = ms(l.P50), ms(l.P99)
	s.res.Live = len(s.live)
	if len(s.live) == 0 {
		return fmt.Errorf("no node is up and joined after the scenario")
	}
	return nil
}

// kill kills cfg.Kill of the nodes at once, silently.
func (s *sim) kill() {
	n := s.cfg.Nodes
	kill := s.rng.Perm(n)[:s.cfg.killed()]
	for _, i := range kill {
		s.world.leave(i, s.nodes[i].Addr(), false)
		if s.adversarial[i] {
			s.adv.remove(s.nodes[i].ID())
		}
	}
	// A host that dies on the internet goes silent: requests to it time out. On the mem
	// network a call to an address nobody listens at fails at once, as if the host
	// had refused it, so the dead are cut off first, which makes them silent.
	if len(kill) > 0 {
		s.cutOff()
	}
	s.c.Kill(kill...)
	s.res.Killed = len(kill)
	if len(kill) > 0 {
		fmt.Fprintf(s.cfg.Out, "killed %d of %d nodes at once\n", len(kill), n)
	}
}

// cutOff partitions the network as the world says: the dead alone, and the side split
// off, if any, apart from the rest.
func (s *sim) cutOff() {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	s.nw.Partition(s.world.groupsLocked(func(i int) netip.AddrPort { return s.nodes[i].Addr() })...)
}

// real is the wall time of d of simulated time.
func (s *sim) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.cfg.TimeScale)
}

// simulated is the simulated time of d of wall time.
func (s *sim) simulated(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.cfg.TimeScale)
}

// timeline runs the scenario's churn and partition for length of simulated time while
// the rounds of gets sample it.
func (s *sim) timeline(ctx context.Context, length time.Duration) error {
	samples := max(1, int(length/s.cfg.Sample))
	fmt.Fprintf(s.cfg.Out, "scenario: %v simulated in %v (time scale %g), %d departures scheduled, %s; records live %v\n",
		length, s.real(length).Round(time.Millisecond), s.cfg.TimeScale, len(s.events), s.partitionText(), s.cfg.recordTTL())
	fmt.Fprintf(s.cfg.Out, "%d rounds of %d gets, one every %v\n\n", samples, s.cfg.SampleGets, s.cfg.Sample)
	writeSampleHeader(s.cfg.Out)

	var done atomic.Int64
	stop := figures.Progress(s.cfg.Progress, "kad sim: scenario, rounds of gets", s.cfg.ProgressEvery, int64(samples), &done)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var out sync.Mutex // the churn and the rounds both write to cfg.Out
	var wg sync.WaitGroup
	var timeline []Sample
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(s.cfg.Seed^0xbf58476d1ce4e5b9, s.cfg.Seed))
		for k := 1; k <= samples; k++ {
			if sleepUntil(ctx, start.Add(s.real(time.Duration(k)*s.cfg.Sample))) != nil {
				return
			}
			sm := s.sample(ctx, rng, start)
			if ctx.Err() != nil {
				return
			}
			timeline = append(timeline, sm)
			out.Lock()
			writeSample(s.cfg.Out, &sm)
			out.Unlock()
			done.Add(1)
		}
	})
	err := s.drive(ctx, start, length, func(format string, args ...any) {
		out.Lock()
		fmt.Fprintf(s.cfg.Out, format, args...)
		out.Unlock()
	})
	if err != nil {
		cancel()
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.res.Timeline = timeline
	if len(timeline) > 0 {
		low := slices.MinFunc(timeline, func(a, b Sample) int { return cmp.Compare(a.SuccessRate, b.SuccessRate) }).SuccessRate
		s.res.SuccessMin = &low
	}
	if s.cfg.Maintain > 0 {
		fmt.Fprintf(s.cfg.Out, "maintained for %s (maintenance intervals divided by %g)\n", s.cfg.Maintain, s.cfg.TimeScale)
	}
	fmt.Fprintln(s.cfg.Out)
	return nil
}

func (s *sim) partitionText() string {
	if s.cfg.Partition == 0 {
		return "no partition"
	}
	return fmt.Sprintf("%g of the live nodes split off for %v", s.cfg.Partition, s.cfg.PartitionFor)
}

// drive applies the scenario's actions at their times, then waits for its end.
func (s *sim) drive(ctx context.Context, start time.Time, length time.Duration, printf func(string, ...any)) error {
	var actions []action
	if s.cfg.Partition > 0 {
		actions = append(actions, action{at: 0, kind: actSplit}, action{at: s.cfg.PartitionFor, kind: actHeal})
	}
	for _, e := range s.events {
		actions = append(actions, action{at: e.At, kind: actLeave, slot: e.Slot})
	}
	slices.SortStableFunc(actions, func(a, b action) int { return cmp.Compare(a.at, b.at) })

	// The schedule's slots are the nodes not killed, in order; each holds one node at a
	// time, and the newcomers take the indices after the first nodes, in turn.
	slots := make([]int, 0, s.cfg.Nodes-s.res.Killed)
	for i := range s.cfg.Nodes {
		if !s.world.gone(i) {
			slots = append(slots, i)
		}
	}
	next := s.cfg.Nodes
	for a := 0; a < len(actions); {
		due := start.Add(s.real(actions[a].at))
		if err := sleepUntil(ctx, due); err != nil {
			return err
		}
		s.res.ScheduleLagMaxS = max(s.res.ScheduleLagMaxS, time.Since(due).Seconds())
		// Every action due by now, together: one new partition of the network for all.
		// Each departure starts its newcomer at once, in the schedule's order, so that
		// the same seed gives the same identities; a newcomer whose own session ends in
		// the same batch leaves before it joins.
		now := s.simulated(time.Since(start))
		var leavers, arrived []int
		for first := a; a < len(actions) && (a == first || actions[a].at <= now); a++ {
			switch act := actions[a]; act.kind {
			case actSplit:
				printf("%s: split %d nodes off\n", fmtAt(now), s.split())
			case actHeal:
				s.world.mu.Lock()
				s.world.partitioned = false
				s.world.mu.Unlock()
				printf("%s: the partition healed\n", fmtAt(now))
			case actLeave:
				i := slots[act.slot]
				if s.world.leave(i, s.nodes[i].Addr(), true) {
					leavers = append(leavers, i)
				}
				if s.adversarial[i] {
					s.adv.remove(s.nodes[i].ID())
				}
				if err := s.start(next); err != nil {
					return err
				}
				slots[act.slot] = next
				arrived = append(arrived, next)
				next++
			}
		}
		s.cutOff()
		s.c.Kill(leavers...)
		for _, i := range arrived {
			if !s.world.gone(i) {
				s.join(i)
			}
		}
	}
	return sleepUntil(ctx, start.Add(s.real(length)))
}

// split splits cfg.Partition of the live nodes off, and returns how many.
func (s *sim) split() int {
	w := &s.world
	w.mu.Lock()
	live := w.live.sorted()
	side := s.rng.Perm(len(live))[:int(s.cfg.Partition*float64(len(live)))]
	for _, j := range side {
		w.split[live[j]] = true
	}
	w.partitioned = true
	w.mu.Unlock()
	s.res.Split = len(side)
	return len(side)
}

// start starts node i, a newcomer with a new identity at a new address.
func (s *sim) start(i int) error {
	n, err := s.c.Add() // fills in s.stores[i], s.mems[i]
	if err != nil {
		return err
	}
	if s.c.Nodes[i] != n { // only this goroutine adds nodes
		return fmt.Errorf("newcomer %d started at index %d", i, len(s.c.Nodes)-1)
	}
	s.nodes[i] = n
	if s.natted[i] {
		s.res.NATHosts++
	}
	return nil
}

// join joins newcomer i through up to JoinPeers public nodes on the side not split
// off, drawn now. At most JoinParallel newcomers join at once; the others wait their
// turn without holding up the schedule, and give up if they leave meanwhile. A join
// still running when the scenario ends goes on through the measurements, as it would
// on a real network, and the run stops it before closing the nodes.
func (s *sim) join(i int) {
	seeds := s.contacts(s.pick(s.world.joinPeers(), s.cfg.JoinPeers))
	arrived := time.Now()
	ctx := s.joinCtx
	s.joins.Go(func() {
		if len(seeds) == 0 {
			s.world.done(i, false, false, true)
			return
		}
		select {
		case s.joinSem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-s.joinSem }()
		if s.world.gone(i) {
			return
		}
		_, _, err := s.bootstrap(ctx, i, seeds)
		if s.world.done(i, err == nil, !s.natted[i], true) {
			s.world.mu.Lock()
			s.world.joinTook = append(s.world.joinTook, time.Since(arrived))
			s.world.mu.Unlock()
		}
	})
}

// sample runs one round of SampleGets gets of stored keys, each from a random live
// node, and returns its figures.
func (s *sim) sample(ctx context.Context, rng *rand.Rand, start time.Time) Sample {
	begin := time.Now()
	w := &s.world
	w.mu.Lock()
	sm := Sample{AtS: s.simulated(begin.Sub(start)).Seconds(), Live: len(w.live.items), Joined: w.joined, Left: w.left, Partitioned: w.partitioned}
	if sm.Live == 0 {
		w.mu.Unlock()
		return sm
	}
	count := s.cfg.SampleGets
	from, keys := make([]int, count), make([]protocol.ID, count)
	for i := range count {
		from[i], keys[i] = w.live.items[rng.IntN(sm.Live)], s.keys[rng.IntN(len(s.keys))]
	}
	var live []int
	var split []bool // by node index, a copy
	if sm.Partitioned {
		live, split = slices.Clone(w.live.items), slices.Clone(w.split)
	}
	w.mu.Unlock()

	// cross[i]: no live node on the caller's side holds the key. A cross get counts if
	// it returned before the network healed.
	cross := make([]bool, count)
	if sm.Partitioned {
		held := make(map[protocol.ID]*[2]bool)
		for _, k := range keys {
			if held[k] == nil {
				held[k] = new([2]bool)
			}
		}
		for _, j := range live {
			for k, sides := range held {
				if _, ok, _ := s.stores[j].Get(k, begin); ok {
					sides[side(split[j])] = true
				}
			}
		}
		for i := range count {
			cross[i] = !held[keys[i]][side(split[from[i]])]
		}
	}
	ok, cut := make([]bool, count), make([]bool, count)
	took := make([]time.Duration, count)
	figures.Each(ctx, count, s.cfg.Parallel, s.cfg.OpTimeout, nil, func(ctx context.Context, i int) {
		t := time.Now()
		got, err := s.nodes[from[i]].Get(ctx, keys[i])
		took[i], ok[i] = time.Since(t), err == nil && bytes.Equal(got, s.value(keys[i]))
		w.mu.Lock()
		cut[i] = w.partitioned // still, when the get returned
		w.mu.Unlock()
	})
	var lat []time.Duration
	for i := range count {
		if s.world.gone(from[i]) {
			continue // the caller left: not the network's failure
		}
		sm.Gets++
		if ok[i] {
			sm.OK++
			lat = append(lat, took[i])
		}
		if sm.Partitioned && split[from[i]] {
			sm.SplitGets++
			if ok[i] {
				sm.SplitOK++
			}
		}
		if cross[i] && cut[i] {
			sm.CrossGets++
			if ok[i] {
				sm.CrossOK++
			}
		}
	}
	sm.SuccessRate = figures.Ratio(float64(sm.OK), float64(sm.Gets))
	l := figures.Summarize(lat)
	sm.LatencyP50MS, sm.LatencyP90MS = ms(l.P50), ms(l.P90)
	sm.WallS = time.Since(begin).Seconds()
	return sm
}

// side is 1 for the side split off, 0 for the rest.
func side(split bool) int {
	if split {
		return 1
	}
	return 0
}

// sleepUntil waits until t or the end of ctx, and returns ctx's error if it ended.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// fmtAt writes a simulated time since the scenario began.
func fmtAt(d time.Duration) string {
	return fmt.Sprintf("%8s", d.Round(time.Second))
}

func writeSampleHeader(w io.Writer) {
	fmt.Fprintf(w, "%8s %6s %6s %6s %6s %6s %8s %9s %9s  %s\n", "time", "live", "joined", "left", "gets", "ok", "success", "p50", "p90", "partition: split ok/gets, cross ok/gets")
}

func writeSample(w io.Writer, sm *Sample) {
	fmt.Fprintf(w, "%s %6d %6d %6d %6d %6d %7.2f%% %9s %9s", fmtAt(time.Duration(sm.AtS*float64(time.Second))),
		sm.Live, sm.Joined, sm.Left, sm.Gets, sm.OK, 100*sm.SuccessRate, fmtMS(sm.LatencyP50MS), fmtMS(sm.LatencyP90MS))
	if sm.Partitioned {
		fmt.Fprintf(w, "  %d/%d, %d/%d", sm.SplitOK, sm.SplitGets, sm.CrossOK, sm.CrossGets)
	}
	fmt.Fprintln(w)
}
