// Package transporttest is the conformance suite every kad transport must pass. A
// transport's tests call Run with a Factory that makes fresh transports listening on
// loopback:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, func(t *testing.T) transports.Transport {
//			tr, err := udp.Listen("127.0.0.1:0", udp.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return tr
//		})
//	}
//
// The suite checks the behaviour the transports.Transport documentation promises: request
// and response round trips in both directions and under concurrency, the caller's and
// responder's addresses, context cancellation and deadlines, the message size limit in
// both directions, closing, unreachable peers, remote handler errors, empty messages, and
// — for transports implementing transports.Identified — proven node IDs.
//
// Every subtest waits on channels or polls conditions, never on fixed sleeps, and ends
// the goroutines it starts before it returns.
package transporttest
