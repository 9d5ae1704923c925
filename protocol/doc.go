// Package protocol holds what two kad nodes must agree on: 160-bit IDs and XOR distance,
// contacts, the Kademlia message types and their CBOR encoding. It does no I/O and starts
// no goroutines. PROTOCOL.md at the repository root specifies the wire format.
//
//	key := protocol.KeyFromString("hello")
//	req := &protocol.Message{Type: protocol.TypeFindValue, RPCID: protocol.NewRPCID(), Sender: self, Key: key}
//	b, err := req.Encode()
//	...
//	reply, err := protocol.Decode(b)
package protocol
