package node_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
	"kad/transports"
)

// sumSent and sumReceived add up the per-type counters of st.
func sumSent(st node.Stats) (n uint64) {
	for _, row := range st.Sent {
		for _, v := range row {
			n += v
		}
	}
	return n
}

func sumReceived(st node.Stats) (all, refused uint64) {
	for _, row := range st.Received {
		for o, v := range row {
			all += v
			if node.ReceivedOutcome(o) != node.ReceivedAnswered {
				refused += v
			}
		}
	}
	return all, refused
}

// TestStatsReceived sends one request of each kind a node refuses, and some it answers:
// each is counted under its type and the reason it was refused for, and the counters
// add up to RequestsHandled and RequestsRefused.
func TestStatsReceived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A burst of 10 lets the first ten requests through; time stands still in the
		// bubble, so the eleventh and later are refused.
		c := cluster.New(t, 1, cluster.Options{Config: node.Config{MaxStoreBytes: 100_000, RequestRate: 1, RequestBurst: 10}})
		n := c.Nodes[0]
		raw := rawTransport(t, c.Network)
		sender := protocol.RandomID(nil)
		msg := func(typ protocol.Type, key string, value []byte) *protocol.Message {
			m := &protocol.Message{Type: typ, RPCID: protocol.NewRPCID(), Sender: sender, Value: value}
			if typ != protocol.TypePing && typ != protocol.TypePong {
				m.Key = protocol.KeyFromString(key)
			}
			return m
		}
		tooLarge := withPair(t, msg(protocol.TypeStore, "big", nil),
			"07 5a"+hex.EncodeToString([]byte{0, 0, 0xfa, 0x01})+strings.Repeat("76", protocol.MaxValueSize+1), false)
		requests := []struct {
			name string
			req  []byte
			typ  protocol.Type // the reply type
		}{
			{"ping", encode(t, msg(protocol.TypePing, "", nil)), protocol.TypePong},
			{"store", encode(t, msg(protocol.TypeStore, "a", bytes.Repeat([]byte{'a'}, 60_000))), protocol.TypeStored},
			{"store over the quota", encode(t, msg(protocol.TypeStore, "b", bytes.Repeat([]byte{'b'}, 60_000))), protocol.TypeError},
			{"find node", encode(t, msg(protocol.TypeFindNode, "x", nil)), protocol.TypeNodes},
			{"find value", encode(t, msg(protocol.TypeFindValue, "a", nil)), protocol.TypeValue},
			{"garbage", append([]byte("\xff\x00garbage"), make([]byte, 40)...), protocol.TypeError},
			{"reply as request", encode(t, msg(protocol.TypePong, "", nil)), protocol.TypeError},
			{"value too large", tooLarge, protocol.TypeError},
			{"own id", encode(t, &protocol.Message{Type: protocol.TypePing, RPCID: protocol.NewRPCID(), Sender: n.ID()}), protocol.TypeError},
			{"tenth", encode(t, msg(protocol.TypePing, "", nil)), protocol.TypePong},
			{"rate limited", encode(t, msg(protocol.TypeFindNode, "y", nil)), protocol.TypeError},
			{"rate limited again", encode(t, msg(protocol.TypeFindNode, "y", nil)), protocol.TypeError},
		}
		// Each request after the first carries the token the first reply gave.
		var token []byte
		for _, r := range requests {
			req := r.req
			if m, err := protocol.Decode(req); err == nil && token != nil {
				m.Token = token
				req = encode(t, m)
			}
			got := callRaw(t, raw, n.Contact(), req)
			if token == nil {
				token = got.Token
			}
			if got.Type != r.typ {
				t.Fatalf("%s: got %s (%q), want %s", r.name, got.Type, got.ErrText, r.typ)
			}
		}
		st := n.Stats()
		want := []struct {
			typ  protocol.Type
			o    node.ReceivedOutcome
			want uint64
		}{
			{protocol.TypePing, node.ReceivedAnswered, 2},
			{protocol.TypeStore, node.ReceivedAnswered, 1},
			{protocol.TypeStore, node.ReceivedStoreFull, 1},
			{protocol.TypeStore, node.ReceivedTooLarge, 1},
			{protocol.TypeFindNode, node.ReceivedAnswered, 1},
			{protocol.TypeFindValue, node.ReceivedAnswered, 1},
			{protocol.TypePong, node.ReceivedMalformed, 2}, // garbage and PONG: no request type
			{protocol.TypePing, node.ReceivedIdentity, 1},
			{protocol.TypeFindNode, node.ReceivedRateLimited, 2},
		}
		for _, w := range want {
			if got := st.ReceivedOf(w.typ, w.o); got != w.want {
				t.Errorf("received %s %s: %d, want %d", w.typ, w.o, got, w.want)
			}
		}
		all, refused := sumReceived(st)
		if all != uint64(len(requests)) || all != st.RequestsHandled || refused != st.RequestsRefused || refused != 7 {
			t.Errorf("per-type counters add up to %d handled, %d refused; RequestsHandled %d, RequestsRefused %d; want %d and 7",
				all, refused, st.RequestsHandled, st.RequestsRefused, len(requests))
		}
	})
}

// TestStatsSent has a node send requests that end in each way: each is counted under
// its type and outcome, and the counters add up to RequestsSent.
func TestStatsSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cluster.New(t, 2, cluster.Options{Config: node.Config{RPCTimeout: time.Second, MaxStoreBytes: 100_000}})
		a, b := c.Nodes[0], c.Nodes[1]
		ctx := context.Background()
		synctest.Wait()   // the PINGs the join's requests drew
		base := a.Stats() // the join's requests
		peer := func(h transports.Handler) protocol.Contact {
			tr, err := c.Network.NewTransport()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tr.Close() })
			if err := tr.Serve(h); err != nil {
				t.Fatal(err)
			}
			return protocol.Contact{Addr: tr.LocalAddr()}
		}
		silent := peer(func(ctx context.Context, _ transports.Peer, _ []byte) ([]byte, error) {
			<-ctx.Done() // until the transport closes
			return nil, ctx.Err()
		})
		garbage := peer(func(context.Context, transports.Peer, []byte) ([]byte, error) {
			return []byte{0xff, 0x00}, nil
		})
		failing := peer(func(context.Context, transports.Peer, []byte) ([]byte, error) {
			return nil, errors.New("handler failed")
		})

		if _, err := a.Ping(ctx, b.Contact()); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if err := a.StoreAt(ctx, b.Contact(), protocol.KeyFromString("a"), make([]byte, 60_000)); err != nil {
			t.Fatalf("store: %v", err)
		}
		var remote *protocol.RemoteError
		if err := a.StoreAt(ctx, b.Contact(), protocol.KeyFromString("b"), make([]byte, 60_000)); !errors.As(err, &remote) {
			t.Fatalf("store over b's quota: %v, want an ERROR reply", err)
		}
		if _, err := a.FindNode(ctx, failing, protocol.KeyFromString("x")); !errors.Is(err, transports.ErrRemote) {
			t.Fatalf("find node at a failing handler: %v, want ErrRemote", err)
		}
		if _, _, _, err := a.FindValue(ctx, silent, protocol.KeyFromString("x")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("find value at a silent peer: %v, want a timeout", err)
		}
		if _, err := a.Ping(ctx, garbage); !errors.Is(err, node.ErrBadReply) {
			t.Fatalf("ping a garbage peer: %v, want ErrBadReply", err)
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := a.Ping(canceled, b.Contact()); !errors.Is(err, context.Canceled) {
			t.Fatalf("ping with a canceled context: %v", err)
		}

		st := a.Stats()
		want := []struct {
			typ  protocol.Type
			o    node.SentOutcome
			want uint64
		}{
			{protocol.TypePing, node.SentOK, 1},
			{protocol.TypeStore, node.SentOK, 1},
			{protocol.TypeStore, node.SentErrorReply, 1},
			{protocol.TypeFindNode, node.SentErrorReply, 1},
			{protocol.TypeFindValue, node.SentTimeout, 1},
			{protocol.TypePing, node.SentFailed, 1},
			{protocol.TypePing, node.SentCanceled, 1},
		}
		for _, w := range want {
			if got := st.SentOf(w.typ, w.o) - base.SentOf(w.typ, w.o); got != w.want {
				t.Errorf("sent %s %s: %d, want %d", w.typ, w.o, got, w.want)
			}
		}
		if sent := sumSent(st); sent != st.RequestsSent || st.RequestsSent-base.RequestsSent != 7 {
			t.Errorf("per-type counters add up to %d sent; RequestsSent %d, %d of them here; want 7 here",
				sent, st.RequestsSent, st.RequestsSent-base.RequestsSent)
		}
	})
}
