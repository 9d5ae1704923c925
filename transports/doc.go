// Package transports defines Transport, the request/response seam between a kad node and
// the network. The implementations sit in sub-packages: udp (datagrams), quic (QUIC
// streams over TLS 1.3 with node identities proven in the handshake) and mem (an
// in-memory network for tests and simulation). Every one passes the conformance suite in
// transporttest. The node package sees only this interface.
package transports
