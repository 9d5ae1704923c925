// Package console runs the commands of the original kademlia-rs console against a
// node.Node: it reads them from a terminal or a pipe, one a line, runs them one after
// the other, each bounded by a timeout, and writes one answer per command. `kad node`
// serves it on its standard input.
//
//	c := console.New(n, os.Stdin, os.Stdout)
//	c.Timeout = 5 * time.Second
//	c.Transport = "udp" // named in the answer to id
//	err := c.Run(ctx)   // until the input ends or ctx does
//
// Blank lines and lines starting with # are skipped. A bad command or argument gets an
// error answer and the console goes on.
//
// # On a terminal
//
// When it reads from and writes to a terminal, the console edits lines (with
// golang.org/x/term) behind the prompt "kad> ":
//
//	Tab                complete the command name; list the names that fit if ambiguous
//	Up, Down           earlier and later lines (Ctrl-P, Ctrl-N too)
//	Left, Right        move (Ctrl-B, Ctrl-F; Alt-Left, Alt-Right by words)
//	Home, End          start and end of the line (Ctrl-A, Ctrl-E)
//	Ctrl-W, Ctrl-U     delete the word before the cursor, or all before it
//	Ctrl-K             delete from the cursor to the end of the line
//	Ctrl-L             clear the screen
//	Ctrl-C             drop the line; on an empty line, interrupt (SIGINT, see
//	                   Console.Interrupt); while a command runs, cancel it
//	Ctrl-D             on an empty line, end the console, as the end of piped input does
//
// Ctrl-C reaches the console as a key, so that the line editor can drop the line; on an
// empty line the console sends SIGINT to its own process, as the terminal would, so the
// program's signal handling still decides what Ctrl-C means. Ctrl-Z suspends the process
// as usual (on Linux). Console.HistoryFile keeps the lines across runs, at most
// Console.HistorySize of them; blank lines, repeats and lines starting with a space are
// not kept. A line typed on a terminal has at most 4096 characters; longer values go
// through a pipe. Console.Shared carries the program's other output (its logs) to the
// terminal above the prompt instead of through it. Answers are those of piped input,
// with CR LF line endings.
//
// # Commands
//
// These are the lines the help command prints:
//
//	put <string key> <value>   store the value (rest of the line) on the k closest nodes
//	get <string key>           find the value: own store first, then the network
//	p  <addr> [<key>]          send PING; <key> is the ID the node should have
//	s  <addr> <key> <value>    send STORE of the value (rest of the line) under <key>
//	fn <addr> <key>            send FIND_NODE
//	fv <addr> <key>            send FIND_VALUE
//	ln <key>                   iterative node lookup: the k closest nodes to <key>
//	lv <string key>            iterative value lookup (the closest nodes if not found)
//	id                         this node's ID, address and transport
//	table                      the routing table, closest to this node first
//	help                       this list
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
//	node <id> ...            id, as NodeLine writes it
//	N commands               help, after the help text
//	error: <what failed>     unknown command, bad argument, or failed request
//
// A value is printed as it is when it is valid UTF-8 made of printable characters and
// does not start with a double quote; otherwise it is printed Go-quoted (strconv.Quote),
// so that an answer is always one line.
package console
