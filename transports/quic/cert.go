package quic

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"time"

	"kad/identity"
	"kad/protocol"
)

// ALPN is the TLS application protocol both ends must offer on the public network; on
// a named network it is ALPN + "/" + name (see network.go).
const ALPN = "kad/1"

// errBadCertificate is wrapped by every refusal of a peer's certificate.
var errBadCertificate = errors.New("bad peer certificate")

// certIdentity is what a verified certificate tells about its holder.
type certIdentity struct {
	derived protocol.ID // SHA-256(public key)[:20]: proven by the handshake
	claimed protocol.ID // the certificate's common name: the ID the node goes by
}

// verified reports whether the ID the peer goes by is the one its key proves.
func (id certIdentity) verified() bool { return id.claimed == id.derived }

// newCertificate makes the self-signed certificate that carries key and announces
// claimed as the node's ID in its subject common name.
func newCertificate(key ed25519.PrivateKey, claimed protocol.ID) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: claimed.String()},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quic: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quic: parse own certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// checkCertificate verifies what the TLS layer left to us: one self-signed
// certificate whose key is Ed25519 and whose signature that key made. That the peer
// holds the private key is proven by the TLS 1.3 handshake itself (CertificateVerify).
// Validity dates are not checked: the key, not a CA, is the identity.
func checkCertificate(certs []*x509.Certificate) (certIdentity, error) {
	if len(certs) != 1 {
		return certIdentity{}, fmt.Errorf("%w: want 1 certificate, got %d", errBadCertificate, len(certs))
	}
	cert := certs[0]
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return certIdentity{}, fmt.Errorf("%w: key is %T, want Ed25519", errBadCertificate, cert.PublicKey)
	}
	if cert.SignatureAlgorithm != x509.PureEd25519 {
		return certIdentity{}, fmt.Errorf("%w: signed with %v, want Ed25519", errBadCertificate, cert.SignatureAlgorithm)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return certIdentity{}, fmt.Errorf("%w: self-signature: %v", errBadCertificate, err)
	}
	return identityOf(cert, pub)
}

// identityOf derives the IDs of a certificate already checked by checkCertificate.
func identityOf(cert *x509.Certificate, pub ed25519.PublicKey) (certIdentity, error) {
	id := certIdentity{derived: identity.IDFromPublicKey(pub)}
	id.claimed = id.derived
	if cn := cert.Subject.CommonName; cn != "" {
		c, err := protocol.ParseID(cn)
		if err != nil {
			return certIdentity{}, fmt.Errorf("%w: common name: %v", errBadCertificate, err)
		}
		id.claimed = c
	}
	return id, nil
}

// peerIdentity reads the identity of the peer of an established connection, whose
// certificate the handshake has checked.
func peerIdentity(cs tls.ConnectionState) (certIdentity, error) {
	if len(cs.PeerCertificates) == 0 {
		return certIdentity{}, fmt.Errorf("%w: none presented", errBadCertificate)
	}
	cert := cs.PeerCertificates[0]
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return certIdentity{}, fmt.Errorf("%w: key is %T, want Ed25519", errBadCertificate, cert.PublicKey)
	}
	return identityOf(cert, pub)
}

// curvePreferences is the TLS key exchange: X25519 alone makes a handshake about a
// quarter faster than Go's default, which adds the post-quantum X25519MLKEM768.
var curvePreferences = []tls.CurveID{tls.X25519}

// tlsConfigs returns the server and client TLS configurations: TLS 1.3 only, the one
// ALPN alpn, X25519 key exchange, a certificate required and checked on both sides, and
// session tickets, the client keeping those of up to sessions peers (none if negative).
func tlsConfigs(cert tls.Certificate, alpn string, sessions int) (server, client *tls.Config) {
	verify := func(cs tls.ConnectionState) error {
		if cs.DidResume {
			// The certificate comes from the session that the full handshake which
			// checked it issued, and the peer has proven it holds that session's secret.
			return nil
		}
		_, err := checkCertificate(cs.PeerCertificates)
		return err
	}
	base := &tls.Config{
		Certificates:     []tls.Certificate{cert},
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		NextProtos:       []string{alpn},
		CurvePreferences: curvePreferences,
		// Chains are not verified against CAs: a node's certificate is self-signed and
		// checked by VerifyConnection instead.
		InsecureSkipVerify: true,
		VerifyConnection:   verify,
	}
	server = base.Clone()
	server.ClientAuth = tls.RequireAnyClientCert
	client = base.Clone()
	client.ServerName = "kad"
	if sessions > 0 {
		client.ClientSessionCache = tls.NewLRUClientSessionCache(sessions)
	} else {
		client.SessionTicketsDisabled = true
	}
	return server, client
}

// clientTLSFor returns the client configuration of a dial to addr. crypto/tls keys its
// session cache by the server name, so each address gets its own: a ticket is offered
// only to the address that issued it, and a different node now at that address cannot
// decrypt it, so the handshake falls back to a full one that proves the new key.
func (t *Transport) clientTLSFor(addr netip.AddrPort) *tls.Config {
	if t.clientTLS.ClientSessionCache == nil {
		return t.clientTLS
	}
	c := t.clientTLS.Clone()
	c.ServerName = sessionName(addr)
	return c
}

// forgetSession drops the session ticket of addr, whose connection this node dialed
// has ended and whose peer Options.Keep does not keep: a ticket costs about 250 bytes,
// and one for every stranger a node's lookups ever dialed would fill the cache
// (Options.SessionCache) with peers it seldom calls again, at 128 KiB a node when full.
// A stranger dialed again pays a full handshake; the routing table's peers, which the
// node does call again, keep theirs.
func (t *Transport) forgetSession(addr netip.AddrPort) {
	if cache := t.clientTLS.ClientSessionCache; cache != nil {
		cache.Put(sessionName(addr), nil)
	}
}

// sessionName is the TLS server name of a dial to addr: a DNS label, as SNI wants, that
// names the address ("kad-" and the hexadecimal of its 16-byte IP and 2-byte port).
func sessionName(addr netip.AddrPort) string {
	ip := addr.Addr().As16()
	var b [18]byte
	copy(b[:], ip[:])
	binary.BigEndian.PutUint16(b[16:], addr.Port())
	return "kad-" + hex.EncodeToString(b[:])
}

// statelessResetKey derives the key of QUIC stateless resets from the node key, so a
// node that restarts with the same key resets the connections its peers still hold and
// they redial at once instead of waiting for the idle timeout.
func statelessResetKey(key ed25519.PrivateKey) [32]byte {
	h := sha256.New()
	h.Write([]byte("kad quic stateless reset key\x00"))
	h.Write(key.Seed())
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}
