// Package datadir is a node's data directory: what `kad node --data-dir DIR` keeps so
// that the node restarts as itself, with its records and a warm routing table.
//
//	DIR/lock           held (flock) by the node using DIR, with its process ID
//	DIR/node.key       the node's Ed25519 key (unless --key names another file)
//	DIR/records/       the Pebble database: the records held for others, and those the
//	                   node published, which it goes on republishing
//	DIR/contacts.json  the routing table's contacts and the node's own address, saved
//	                   every few minutes and on shutdown, read on start to rejoin
//	DIR/history        the console's history, on a terminal
//
// Open takes the lock, so two nodes never share a directory, and refuses a directory it
// cannot write. Every error names the directory or the file and says what to do; none
// makes the package overwrite or delete anything: a snapshot that cannot be read is left
// as it is, for its owner to look at or move away.
package datadir
