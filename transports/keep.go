package transports

import "kad/protocol"

// Keeper is a transport that keeps state per peer — QUIC's connections — and can be told
// which peers to keep it for when it must drop some: the node's routing-table contacts,
// whose connections are worth more than a stranger's. SetKeep is called once, before the
// transport serves; keep must be safe for concurrent use and must not block.
type Keeper interface {
	SetKeep(keep func(protocol.ID) bool)
}
