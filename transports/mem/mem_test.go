package mem_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"kad/protocol"
	"kad/transports"
	"kad/transports/mem"
	"kad/transports/transporttest"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts mem.Options
	}{
		{"perfect", mem.Options{}},
		{"latency", mem.Options{Latency: 500 * time.Microsecond, Jitter: time.Millisecond, Seed: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			network := newNetwork(t, tc.opts)
			transporttest.Run(t, func(t *testing.T) transports.Transport {
				tr, err := network.Listen(loopback)
				if err != nil {
					t.Fatal(err)
				}
				return tr
			})
		})
	}
}

func newNetwork(t *testing.T, opts mem.Options) *mem.Network {
	t.Helper()
	n, err := mem.NewNetwork(opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// node attaches a transport serving h (when not nil) and closes it when the test ends.
func node(t *testing.T, n *mem.Network, h transports.Handler) *mem.Transport {
	t.Helper()
	tr, err := n.NewTransport()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	if h != nil {
		if err := tr.Serve(h); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func echo(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) { return req, nil }

// call makes one call with a timeout and reports its error and how long it took.
func call(from, to *mem.Transport, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	resp, _, err := from.Call(ctx, protocol.Contact{Addr: to.LocalAddr()}, []byte("hi"))
	if err == nil && string(resp) != "hi" {
		err = fmt.Errorf("response %q, want %q", resp, "hi")
	}
	return time.Since(start), err
}

func TestSynctestVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNetwork(t, mem.Options{Latency: 10 * time.Millisecond})
		a, b := node(t, n, nil), node(t, n, echo)

		elapsed, err := call(a, b, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if elapsed != 20*time.Millisecond {
			t.Errorf("round trip took %v of virtual time, want exactly 20ms", elapsed)
		}

		// A cut link is silent: the call ends with its (virtual) deadline.
		n.Disconnect(a.LocalAddr(), b.LocalAddr())
		elapsed, err = call(a, b, time.Hour)
		if !errors.Is(err, context.DeadlineExceeded) || elapsed != time.Hour {
			t.Errorf("call over a cut link: %v after %v, want DeadlineExceeded after 1h", err, elapsed)
		}
	})
}

func TestLatencyAndJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency, jitter = 10 * time.Millisecond, 5 * time.Millisecond
		n := newNetwork(t, mem.Options{Latency: latency, Jitter: jitter, Seed: 3})
		a, b := node(t, n, nil), node(t, n, echo)
		distinct := map[time.Duration]bool{}
		for range 20 {
			elapsed, err := call(a, b, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if elapsed < 2*latency || elapsed >= 2*(latency+jitter) {
				t.Errorf("round trip %v, want in [%v, %v)", elapsed, 2*latency, 2*(latency+jitter))
			}
			distinct[elapsed] = true
		}
		if len(distinct) < 2 {
			t.Errorf("20 round trips all took the same time: no jitter")
		}

		n.SetLatency(time.Second, 0)
		if elapsed, err := call(a, b, time.Minute); err != nil || elapsed != 2*time.Second {
			t.Errorf("after SetLatency(1s, 0): %v, %v; want 2s, nil", elapsed, err)
		}
	})
}

func TestLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNetwork(t, mem.Options{Loss: 1})
		a, b := node(t, n, nil), node(t, n, echo)
		if _, err := call(a, b, time.Second); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call with loss 1: %v, want DeadlineExceeded", err)
		}
		if s := n.Stats(); s.Lost != 1 || s.Sent != 1 {
			t.Errorf("stats %+v, want 1 sent, 1 lost", s)
		}

		// A call needs its request and its response through: 1/4 of calls at loss 1/2.
		n.SetLoss(0.5)
		const calls = 200
		ok := 0
		for range calls {
			if _, err := call(a, b, time.Second); err == nil {
				ok++
			}
		}
		if ok < calls/10 || ok > calls*2/5 {
			t.Errorf("%d of %d calls succeeded at loss 0.5, want about %d", ok, calls, calls/4)
		}
	})
}

func TestPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNetwork(t, mem.Options{})
		a, b, c := node(t, n, echo), node(t, n, echo), node(t, n, echo)
		reach := func(from, to *mem.Transport) bool {
			_, err := call(from, to, time.Second)
			return err == nil
		}
		check := func(stage string, want map[[2]*mem.Transport]bool) {
			t.Helper()
			for pair, w := range want {
				if got := reach(pair[0], pair[1]); got != w {
					t.Errorf("%s: %v → %v reachable %v, want %v", stage, pair[0].LocalAddr(), pair[1].LocalAddr(), got, w)
				}
			}
		}

		n.Partition([]netip.AddrPort{a.LocalAddr()}, []netip.AddrPort{b.LocalAddr()})
		check("partition {a} {b} {c}", map[[2]*mem.Transport]bool{{a, b}: false, {b, a}: false, {a, c}: false, {b, c}: false})

		n.Partition([]netip.AddrPort{a.LocalAddr()})
		check("partition {a} {b c}", map[[2]*mem.Transport]bool{{a, b}: false, {c, a}: false, {b, c}: true, {c, b}: true})

		n.Heal()
		n.Disconnect(a.LocalAddr(), b.LocalAddr())
		check("a-b cut", map[[2]*mem.Transport]bool{{a, b}: false, {b, a}: false, {a, c}: true, {c, b}: true})

		n.Connect(b.LocalAddr(), a.LocalAddr())
		check("reconnected", map[[2]*mem.Transport]bool{{a, b}: true, {b, a}: true})

		n.Disconnect(a.LocalAddr(), c.LocalAddr())
		n.Partition([]netip.AddrPort{a.LocalAddr()})
		n.Heal()
		check("healed", map[[2]*mem.Transport]bool{{a, b}: true, {a, c}: true, {b, c}: true})
	})
}

// run makes calls over a lossy, jittery network and records each one's outcome.
func run(t *testing.T, seed uint64) []string {
	var out []string
	synctest.Test(t, func(t *testing.T) {
		n := newNetwork(t, mem.Options{Latency: time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.3, Seed: seed})
		a, b := node(t, n, nil), node(t, n, echo)
		for range 50 {
			elapsed, err := call(a, b, 100*time.Millisecond)
			out = append(out, fmt.Sprint(elapsed, err == nil))
		}
	})
	return out
}

func TestDeterminism(t *testing.T) {
	first, again, other := run(t, 7), run(t, 7), run(t, 8)
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Errorf("two runs with seed 7 differ:\n%v\n%v", first, again)
	}
	if fmt.Sprint(first) == fmt.Sprint(other) {
		t.Errorf("runs with seeds 7 and 8 are identical: %v", first)
	}
}

func TestUnreachableFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNetwork(t, mem.Options{Latency: time.Second})
		a, b := node(t, n, nil), node(t, n, echo)
		b.Close()
		elapsed, err := call(a, b, time.Hour)
		if !errors.Is(err, transports.ErrUnreachable) || elapsed != 0 {
			t.Errorf("call to a closed transport: %v after %v, want ErrUnreachable at once", err, elapsed)
		}
	})
}

// TestCallBadAddress calls addresses no node can be reached at (protocol.CheckAddr):
// each call fails with protocol.ErrBadAddr, as over UDP and QUIC, and reaches no handler.
func TestCallBadAddress(t *testing.T) {
	n := newNetwork(t, mem.Options{})
	var handled atomic.Int32
	a := node(t, n, nil)
	b := node(t, n, func(context.Context, transports.Peer, []byte) ([]byte, error) {
		handled.Add(1)
		return nil, nil
	})
	for _, addr := range []netip.AddrPort{
		{},
		netip.AddrPortFrom(b.LocalAddr().Addr(), 0),
		netip.MustParseAddrPort("0.0.0.0:4000"),
		netip.MustParseAddrPort("224.0.0.1:4000"),
		netip.MustParseAddrPort("[ff02::1]:4000"),
		netip.MustParseAddrPort("[::ffff:224.0.0.1]:4000"),
	} {
		_, _, err := a.Call(t.Context(), protocol.Contact{Addr: addr}, []byte("x"))
		if !errors.Is(err, protocol.ErrBadAddr) {
			t.Errorf("call %v: %v, want ErrBadAddr", addr, err)
		}
	}
	if h := handled.Load(); h != 0 {
		t.Errorf("%d requests handled, want none", h)
	}
}

func TestMaxConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNetwork(t, mem.Options{MaxConcurrent: 2})
		var running atomic.Int32
		release := make(chan struct{})
		b := node(t, n, func(ctx context.Context, _ transports.Peer, req []byte) ([]byte, error) {
			running.Add(1)
			<-release
			return req, nil
		})
		a := node(t, n, nil)

		const calls = 5
		errs := make(chan error, calls)
		for range calls {
			go func() {
				_, err := call(a, b, time.Minute)
				errs <- err
			}()
		}
		synctest.Wait()
		if r, d := running.Load(), b.Dropped(); r != 2 || d != calls-2 {
			t.Errorf("%d handlers running and %d requests dropped, want 2 and %d", r, d, calls-2)
		}
		close(release)
		ok := 0
		for range calls {
			if <-errs == nil {
				ok++
			}
		}
		if ok != 2 {
			t.Errorf("%d calls succeeded, want the 2 that were handled", ok)
		}
	})
}

func TestNoAliasing(t *testing.T) {
	n := newNetwork(t, mem.Options{})
	b := node(t, n, func(_ context.Context, _ transports.Peer, req []byte) ([]byte, error) {
		req[0] = 'X' // the handler's copy, not the caller's
		return req, nil
	})
	a := node(t, n, nil)
	req := []byte("abc")
	resp, _, err := a.Call(t.Context(), protocol.Contact{Addr: b.LocalAddr()}, req)
	if err != nil {
		t.Fatal(err)
	}
	if string(req) != "abc" || string(resp) != "Xbc" {
		t.Errorf("request %q and response %q after the call, want %q and %q", req, resp, "abc", "Xbc")
	}
	resp[1] = 'Y'
	if string(req) != "abc" {
		t.Errorf("changing the response changed the request: %q", req)
	}
}

func TestAddresses(t *testing.T) {
	n := newNetwork(t, mem.Options{})
	a, b := node(t, n, nil), node(t, n, nil)
	if a.LocalAddr() != netip.MustParseAddrPort("10.0.0.1:4000") || b.LocalAddr() != netip.MustParseAddrPort("10.0.0.2:4000") {
		t.Errorf("NewTransport gave %v and %v, want 10.0.0.1:4000 and 10.0.0.2:4000", a.LocalAddr(), b.LocalAddr())
	}
	if _, err := n.Listen(a.LocalAddr()); !errors.Is(err, mem.ErrAddrInUse) {
		t.Errorf("Listen on a used address: %v, want ErrAddrInUse", err)
	}
	a.Close()
	again, err := n.Listen(a.LocalAddr())
	if err != nil {
		t.Fatalf("Listen on a closed transport's address: %v", err)
	}
	again.Close()

	for _, bad := range []string{"0.0.0.0:1", "[::]:1", "224.0.0.1:1"} {
		if _, err := n.Listen(netip.MustParseAddrPort(bad)); !errors.Is(err, protocol.ErrBadAddr) {
			t.Errorf("Listen(%s): %v, want ErrBadAddr", bad, err)
		}
	}
	if _, err := mem.NewNetwork(mem.Options{Loss: 2}); err == nil {
		t.Errorf("NewNetwork with loss 2 succeeded")
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	a, to := benchPair(b)
	transporttest.BenchmarkRoundTrip(b, a, to)
}

func BenchmarkRoundTripParallel(b *testing.B) {
	a, to := benchPair(b)
	transporttest.BenchmarkRoundTripParallel(b, a, to)
}

func benchPair(b *testing.B) (*mem.Transport, protocol.Contact) {
	n, err := mem.NewNetwork(mem.Options{MaxConcurrent: 1024})
	if err != nil {
		b.Fatal(err)
	}
	a, err := n.NewTransport()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := n.NewTransport()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(); srv.Close() })
	if err := srv.Serve(echo); err != nil {
		b.Fatal(err)
	}
	return a, protocol.Contact{Addr: srv.LocalAddr()}
}
