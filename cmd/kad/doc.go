// Command kad runs a Kademlia node and talks to it.
//
//	kad node [--transport udp|quic] [--bind IP:PORT] [--id HEX] [--key FILE] [--data-dir DIR]
//	         [--bootstrap-addr IP:PORT --bootstrap-id HEX] [--bootstrap ID@IP:PORT]...
//	         [--k N] [--alpha N] [--require-verified-ids] [--log-level LEVEL]
//	         [--rpc-timeout D] [--timeout D]
//
// Every flag can also be set from an environment variable named after it: KAD_TRANSPORT,
// KAD_BIND, KAD_ID, KAD_KEY, KAD_DATA_DIR, KAD_BOOTSTRAP_ADDR, KAD_BOOTSTRAP_ID, KAD_BOOTSTRAP (a
// comma-separated list), KAD_K, KAD_ALPHA, KAD_REQUIRE_VERIFIED_IDS, KAD_LOG_LEVEL,
// KAD_RPC_TIMEOUT, KAD_TIMEOUT. A flag on the command line wins over its variable.
//
// # Standard output
//
// Standard output carries only the node's line and the console's answers; logs go to
// standard error (log/slog text format). The first line names the node:
//
//	node <id> <ip>:<port> udp
//	node <id> <ip>:<port> quic verified
//	node <id> <ip>:<port> quic unverified
//
// where <id> is 40 lower-case hexadecimal characters. Over QUIC, "verified" means the TLS
// handshake proves the ID to peers (the ID is derived from the node's key); a node given
// --id with another ID is "unverified". The line is printed before the node bootstraps.
//
// # Console
//
// After bootstrapping, the node reads commands from standard input, one a line, from a
// terminal or a pipe alike, and runs them one after the other, each bounded by --timeout.
// Blank lines and lines starting with # are skipped. End of input leaves the node running;
// SIGINT or SIGTERM stops it.
//
//	put <string key> <value>     store the value (rest of the line) on the k closest nodes
//	get <string key>             find the value: own store first, then the network
//	p  <addr> [<key>]            send PING; <key> is the ID the node should have
//	s  <addr> <key> <value>      send STORE of the value (rest of the line) under <key>
//	fn <addr> <key>              send FIND_NODE
//	fv <addr> <key>              send FIND_VALUE
//	ln <key>                     iterative node lookup: the k closest nodes to <key>
//	lv <string key>              iterative value lookup
//	id                           this node's line, as printed at start
//	table                        the routing table, closest to this node first
//	help                         the list of commands
//
// A <key> is 40 hexadecimal characters; a <string key> is any word, hashed into a key
// with SHA-256 truncated to 20 bytes. An <addr> is IP:PORT, or ID@IP:PORT to name the
// node's ID too (checked against the answer, and over QUIC against the handshake).
//
// # Answers
//
// Each command gets one answer: zero or more data lines, each starting with two spaces,
// then exactly one final line that does not start with a space. A script reads up to and
// including the first line that does not start with a space. Final lines:
//
//	stored on N nodes        put (N may be 1: "stored on 1 node")
//	value <value>            get, lv, fv: the value was found
//	not found                get; lv after the closest contacts as data lines
//	pong <id>@<ip>:<port>    p
//	stored at <ip>:<port>    s
//	N contacts               fn, fv (value not held), ln, table: after N data lines
//	                         "  <id>@<ip>:<port>" ("1 contact" for one)
//	node <id> ...            id
//	N commands               help, after the help text
//	error: <what failed>     unknown command, bad argument, or failed request
//
// A value is printed as it is when it is valid UTF-8 made of printable characters and
// does not start with a double quote; otherwise it is printed Go-quoted (strconv.Quote),
// so that an answer is always one line.
//
// # Exit status
//
// 0 after SIGINT or SIGTERM; 2 for a bad flag, a bad environment variable or a failed
// bootstrap; 1 for other failures (the address cannot be bound, the key file cannot be
// read). A failure is one line on standard error starting with "kad: ".
package main
