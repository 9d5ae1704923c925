package quic

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/identity"
	"kad/internal/figures"
)

// TestFloodFigures replays a connection flood: floodConns handshakes from one address
// (one UDP socket), each under a fresh Ed25519 key, as fast as floodCallers dialers go,
// each connection held open to the end. It runs only with KAD_QUIC_FLOOD=1 and logs its
// figures: go test -run TestFloodFigures -v ./transports/quic/ (BENCHMARKS.md).
func TestFloodFigures(t *testing.T) {
	if os.Getenv("KAD_QUIC_FLOOD") == "" {
		t.Skip("set KAD_QUIC_FLOOD=1 to replay the connection flood")
	}
	const floodConns, floodCallers = 3000, 64
	before := figures.ReadMemory()
	quiet := slog.New(slog.DiscardHandler)
	srv := newTransport(t, Options{Logger: quiet})
	serve(t, srv, echo)
	honest := newTransport(t, Options{Logger: quiet})

	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	qt := &qgo.Transport{Conn: udp}
	defer qt.Close()
	to := net.UDPAddrFromAddrPort(srv.LocalAddr())

	var (
		mu               sync.Mutex
		held             []*qgo.Conn
		next, ok, failed atomic.Int64
		wg               sync.WaitGroup
	)
	start := time.Now()
	for range floodCallers {
		wg.Go(func() {
			for next.Add(1) <= floodConns {
				key := newKey(t)
				cert, err := newCertificate(key, identity.IDFromKey(key))
				if err != nil {
					t.Error(err)
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				conn, err := qt.Dial(ctx, to, &tls.Config{
					Certificates:       []tls.Certificate{cert},
					InsecureSkipVerify: true,
					NextProtos:         []string{ALPN},
					MinVersion:         tls.VersionTLS13,
				}, &qgo.Config{HandshakeIdleTimeout: 5 * time.Second})
				cancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				mu.Lock()
				held = append(held, conn)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// A client's Dial succeeds before the server has checked its certificate; let the
	// server's side settle before reading its figures.
	time.Sleep(500 * time.Millisecond)
	stats := srv.Stats()
	_, _, honestErr := honest.Call(testCtx(t), contact(srv), []byte("x"))
	after := figures.ReadMemory()
	t.Logf("%d handshakes from one address in %v: %.0f/s attempted; client saw %d succeed, %d fail",
		floodConns, elapsed.Round(time.Millisecond), floodConns/elapsed.Seconds(), ok.Load(), failed.Load())
	t.Logf("server stats at the end: %+v", stats)
	t.Logf("honest peer's call during the flood: err=%v", honestErr)
	t.Logf("RSS %.1f MB before, %.1f MB after (flooder in the same process); goroutines %d -> %d",
		float64(before.RSS)/(1<<20), float64(after.RSS)/(1<<20), before.Goroutines, after.Goroutines)
	for _, c := range held {
		c.CloseWithError(0, "")
	}
}
