package quic

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	qgo "github.com/quic-go/quic-go"

	"kad/identity"
)

// rawServer runs a QUIC server that presents cert and answers every stream with resp
// (an OK frame if nil), without checking anything: only the dialing side can refuse it.
func rawServer(t *testing.T, cert tls.Certificate, resp []byte) netip.AddrPort {
	if resp == nil {
		resp = []byte{statusOK, 'o', 'k'}
	}
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	qt := &qgo.Transport{Conn: udp}
	ln, err := qt.Listen(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		NextProtos:   []string{ALPN},
		MinVersion:   tls.VersionTLS13,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			wg.Go(func() {
				for {
					s, err := conn.AcceptStream(ctx)
					if err != nil {
						return
					}
					io.Copy(io.Discard, s)
					s.Write(resp)
					s.Close()
				}
			})
		}
	})
	t.Cleanup(func() {
		cancel()
		qt.Close()
		wg.Wait()
		udp.Close()
	})
	return udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// rawCall dials addr presenting cert, checking nothing of the server, and makes one
// request.
func rawCall(t *testing.T, cert tls.Certificate, addr netip.AddrPort) error {
	return rawCallWith(t, cert, addr, []byte("x"))
}

func rawCallWith(t *testing.T, cert tls.Certificate, addr netip.AddrPort, req []byte) error {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	qt := &qgo.Transport{Conn: udp}
	defer qt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := qt.Dial(ctx, net.UDPAddrFromAddrPort(addr), &tls.Config{
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true,
		NextProtos:         []string{ALPN},
		MinVersion:         tls.VersionTLS13,
	}, nil)
	if err != nil {
		return err
	}
	defer conn.CloseWithError(0, "")
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	s.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write(req); err != nil {
		return err
	}
	s.Close()
	resp, err := io.ReadAll(s)
	if err != nil {
		return err
	}
	if len(resp) == 0 || resp[0] != statusOK {
		return errors.New("no OK response")
	}
	return nil
}

func validCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key := newKey(t)
	cert, err := newCertificate(key, identity.IDFromKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
