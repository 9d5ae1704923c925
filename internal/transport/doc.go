// Package transport opens a transport by name — "udp", "quic" or "mem" — for the command
// line, the cluster benchmark and the tests, so that the choice is written once.
//
//	tr, err := transport.Open(transport.UDP, transport.Options{Bind: "127.0.0.1:0"})
//	...
//	n, err := node.New(node.Config{}, tr)
package transport
