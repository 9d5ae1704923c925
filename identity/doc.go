// Package identity is a node's identity: the Ed25519 key file a node keeps in its data
// directory, and the node ID derived from a key, which the QUIC handshake proves.
//
//	key, err := identity.LoadOrCreateKey(filepath.Join(dataDir, "node.key"))
//	...
//	id := identity.IDFromKey(key) // SHA-256(public key)[:20]
package identity
