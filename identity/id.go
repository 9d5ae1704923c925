package identity

import (
	"crypto/ed25519"
	"crypto/sha256"

	"kad/protocol"
)

// IDFromPublicKey returns the node ID a public key proves: the first 20 bytes of SHA-256
// of the 32-byte raw key (PROTOCOL.md, "Node IDs"). This is the one place the derivation
// is written; the QUIC transport checks a peer's certificate against it.
func IDFromPublicKey(pub ed25519.PublicKey) protocol.ID {
	sum := sha256.Sum256(pub)
	return protocol.ID(sum[:protocol.IDBytes])
}

// IDFromKey returns the node ID that key proves: IDFromPublicKey of its public half.
func IDFromKey(key ed25519.PrivateKey) protocol.ID {
	return IDFromPublicKey(key.Public().(ed25519.PublicKey))
}
