package quic

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"

	qgo "github.com/quic-go/quic-go"

	"kad/transports"
)

// Networks. A node offers, and accepts, one ALPN: ALPN on the public network,
// ALPN + "/" + name on a named one (Options.Network). Nodes of different networks have
// no protocol in common, so the TLS handshake fails (the listening side sends the TLS
// alert no_application_protocol) before either side sees a certificate or a stream.

// alpnFor returns the ALPN of the network name; "" is the public network.
func alpnFor(name string) string {
	if name == "" {
		return ALPN
	}
	return ALPN + "/" + name
}

// alertNoApplicationProtocol is the TLS alert (RFC 7301) a server sends when it shares
// no application protocol with the client; QUIC carries it as CRYPTO_ERROR 0x100 + alert
// (RFC 9001, section 4.8).
const alertNoApplicationProtocol = 120

// wrongNetwork reports whether err is a dial the peer refused for its ALPN, as a node
// of another network does.
func wrongNetwork(err error) bool {
	var te *qgo.TransportError
	return errors.As(err, &te) && te.Remote && te.ErrorCode == 0x100+alertNoApplicationProtocol
}

// alpnGuard counts and logs the handshakes a listening transport refuses because the
// client offered another network's ALPN. It only watches: crypto/tls does the refusing.
type alpnGuard struct {
	alpn    string
	log     *slog.Logger
	refused atomic.Int64
}

// getConfigForClient is the server's tls.Config.GetConfigForClient. It returns no
// config, so that the handshake goes on with the server's own.
func (g *alpnGuard) getConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if !slices.Contains(hello.SupportedProtos, g.alpn) {
		g.refused.Add(1)
		var from any
		if hello.Conn != nil {
			from = hello.Conn.RemoteAddr()
		}
		g.log.Debug("handshake of another network refused", "peer", from, "offered", hello.SupportedProtos, "want", g.alpn)
	}
	return nil, nil
}

// wrongNetworkErr is the error of a dial that a peer refused for its ALPN.
func wrongNetworkErr(alpn string) error {
	return fmt.Errorf("%w: it refused ALPN %q", transports.ErrWrongNetwork, alpn)
}
