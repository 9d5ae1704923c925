// Command kad runs a Kademlia node and talks to it.
//
//	kad node [--transport udp|quic] [--bind IP:PORT] [--id HEX] [--key FILE]
//	         [--data-dir DIR [--sync]] [--network NAME]
//	         [--bootstrap-addr IP:PORT --bootstrap-id HEX] [--bootstrap ID@IP:PORT]...
//	         [--api HOST:PORT [--api-public]] [--k N] [--alpha N] [--require-verified-ids]
//	         [--log-level LEVEL] [--log-format text|json] [--rpc-timeout D] [--timeout D]
//	         [--config FILE]
//	kad put|get|lookup|ping|status [--api HOST:PORT | --bootstrap ID@IP:PORT...] [flags] [args]
//	kad bench [flags]
//	kad sim [flags]
//	kad completion bash|zsh|fish
//	kad --version
//
// Every flag of kad node can also be set from an environment variable named after it:
// KAD_TRANSPORT, KAD_BIND, KAD_ID, KAD_KEY, KAD_DATA_DIR, KAD_SYNC, KAD_NETWORK,
// KAD_BOOTSTRAP_ADDR, KAD_BOOTSTRAP_ID, KAD_BOOTSTRAP (a comma-separated list),
// KAD_API_ADDR, KAD_API_PUBLIC, KAD_K, KAD_ALPHA, KAD_REQUIRE_VERIFIED_IDS, KAD_LOG_LEVEL,
// KAD_LOG_FORMAT, KAD_RPC_TIMEOUT, KAD_TIMEOUT, and from a YAML or TOML file given by
// --config (KAD_CONFIG) with the flags' names as keys. A flag on the command line wins over
// its variable, and both over the file. The client commands find a node's API at --api or
// KAD_API.
//
// --log-level takes debug, info, warn or error, in any case, or one of them with an
// offset such as info+2 or debug-4, as log/slog names levels; warning is warn.
//
// # Standard output
//
// Standard output carries only the node's line (then, with --api, "api http://IP:PORT")
// and the console's answers; logs go to standard error, as log/slog text or, with
// --log-format json, JSON. The first line names the node:
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
// After bootstrapping, the node reads commands from standard input, one a line, and runs
// them one after the other, each bounded by --timeout. On a terminal it edits lines, with
// history (kept in the data directory) and completion of command names; see
// kad/internal/console.
// End of input leaves the node running; SIGINT or SIGTERM stops it. The commands and the
// format of their answers are those of package kad/internal/console; type help for the
// list. Each answer ends with exactly one line that does not start with a space.
//
// # Exit status
//
// kad node: 0 after SIGINT or SIGTERM; 2 for a bad flag, environment variable or --config
// setting, a failed bootstrap, or a data directory in use, unwritable or damaged; 1 for
// other failures (the address cannot be bound, the key file cannot be read). The client
// commands: 0 done, 1 not found, 2 a bad argument or a failure. A failure is one line on
// standard error starting with "kad: ".
package main
