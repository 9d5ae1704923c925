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
// --log-level takes debug, info, warn or error, in any case, or one of them with an
// offset such as info+2 or debug-4, as log/slog names levels; warning is warn.
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
// End of input leaves the node running; SIGINT or SIGTERM stops it. The commands and the
// format of their answers are those of package kad/internal/console; type help for the
// list. Each answer ends with exactly one line that does not start with a space.
//
// # Exit status
//
// 0 after SIGINT or SIGTERM; 2 for a bad flag, a bad environment variable or a failed
// bootstrap; 1 for other failures (the address cannot be bound, the key file cannot be
// read). A failure is one line on standard error starting with "kad: ".
package main
