// Package api serves a node over HTTP: its status and routing table, puts, gets and
// lookups, pings, and Prometheus metrics. A Server is an http.Handler, so an embedder
// mounts it in a server of its own; `kad node --api HOST:PORT` serves it on its own
// port.
//
//	m := api.NewMetrics()
//	cfg := node.Config{OnLookup: m.ObserveLookup} // lookup latency and hops
//	n, err := node.New(cfg, tr)
//	...
//	srv, err := api.New(n, api.Options{TransportName: "udp", Transport: tr, Metrics: m})
//	...
//	err = http.ListenAndServe("127.0.0.1:7000", srv)
//
// # Routes
//
//	GET  /v1/status          the node: ID, address, uptime, routing table, records, counters
//	GET  /v1/peers           the routing table's contacts with their bucket
//	PUT  /v1/values/{key}    store the request body as the value (POST too)
//	GET  /v1/values/{key}    the value, as application/octet-stream
//	GET  /v1/lookup/{key}    the k closest nodes to the key (iterative FIND_NODE)
//	POST /v1/ping            {"addr": "ID@IP:PORT" or "IP:PORT"}: PING one node
//	GET  /metrics            Prometheus text format
//
// A {key} is a string, hashed with protocol.KeyFromString as the console's put and get
// do, and escaped as a path segment; with the query ?key=hex it is 40 hexadecimal
// characters, the key itself. Every answer but a value is JSON; an error is
// {"error": "...", "code": "..."} (type Error) with a status that fits its code.
//
// The routes write to the network (puts, pings to any address) and bound nothing but
// the size and duration of a request: serve them on a loopback address, or behind
// something that decides who may call them.
package api
