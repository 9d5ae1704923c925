package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"kad/node"
	"kad/protocol"
)

// DefaultCommandTimeout bounds one console command unless Console.Timeout says otherwise.
const DefaultCommandTimeout = 10 * time.Second

// maxLine bounds a console line: a value up to protocol.MaxValueSize plus the command,
// address and key in front of it.
const maxLine = protocol.MaxValueSize + 1024

// dataIndent starts every data line of an answer; the final line never starts with it.
const dataIndent = "  "

// Console runs the commands of the original kademlia-rs console against a Node: it reads
// them line by line and writes one answer per command. The answer format is described in
// the package documentation and by the help command.
type Console struct {
	node *node.Node
	in   io.Reader
	out  io.Writer

	// Timeout bounds each command. Zero means DefaultCommandTimeout.
	Timeout time.Duration
	// Transport names the transport in the answer to id ("udp", "quic", ...).
	Transport string
}

// NewConsole returns a console that reads commands from in and writes answers to out.
func NewConsole(n *node.Node, in io.Reader, out io.Writer) *Console {
	return &Console{node: n, in: in, out: out}
}

// Run reads and runs commands until the input ends (it then returns nil), ctx ends, or
// writing an answer fails. Commands run one at a time, each under ctx and the timeout.
func (c *Console) Run(ctx context.Context) error {
	r := bufio.NewReaderSize(c.in, 4096)
	for {
		line, tooLong, err := readLine(r, maxLine)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if tooLong {
			if _, werr := io.WriteString(c.out, fmt.Sprintf("error: line longer than %d bytes\n", maxLine)); werr != nil {
				return werr
			}
		} else if len(line) > 0 || err == nil {
			if answer := c.Exec(ctx, line); answer != "" {
				if _, werr := io.WriteString(c.out, answer); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine returns the next line without its line ending. A line longer than limit is
// consumed and reported with tooLong. err is io.EOF after the last line, which may lack
// a line ending.
func readLine(r *bufio.Reader, limit int) (line string, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > limit+2 { // +2: the line ending
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return "", true, err
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		return string(buf), false, err
	}
}

// Exec runs one command line and returns its answer: lines each ending in a newline, the
// last of which does not start with a space. Blank lines and comments (#) return "".
func (c *Console) Exec(ctx context.Context, line string) string {
	cmd, rest := nextWord(line)
	if cmd == "" || strings.HasPrefix(cmd, "#") {
		return ""
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var a answer
	var err error
	switch cmd {
	case "put":
		err = c.put(ctx, &a, rest)
	case "get":
		err = c.get(ctx, &a, rest)
	case "p":
		err = c.ping(ctx, &a, rest)
	case "s":
		err = c.store(ctx, &a, rest)
	case "fn":
		err = c.findNode(ctx, &a, rest)
	case "fv":
		err = c.findValue(ctx, &a, rest)
	case "ln":
		err = c.lookupNode(ctx, &a, rest)
	case "lv":
		err = c.lookupValue(ctx, &a, rest)
	case "id":
		err = c.id(&a, rest)
	case "table":
		err = c.table(&a, rest)
	case "help":
		err = c.help(&a, rest)
	default:
		err = fmt.Errorf("unknown command %q (try help)", cmd)
	}
	if err != nil {
		a = answer{}
		a.final("error: %s", oneLine(err.Error()))
	}
	return a.String()
}

// answer collects the lines of one answer.
type answer struct{ b strings.Builder }

func (a *answer) data(format string, args ...any) {
	a.b.WriteString(dataIndent)
	a.b.WriteString(oneLine(fmt.Sprintf(format, args...)))
	a.b.WriteByte('\n')
}

func (a *answer) final(format string, args ...any) {
	a.b.WriteString(strings.TrimLeft(oneLine(fmt.Sprintf(format, args...)), " "))
	a.b.WriteByte('\n')
}

func (a *answer) contacts(cs []protocol.Contact) {
	for _, ct := range cs {
		a.data("%s", ct)
	}
	a.final("%s", plural(len(cs), "contact"))
}

func (a *answer) String() string { return a.b.String() }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// usageError is a command called with the wrong arguments.
func usageError(usage string) error { return fmt.Errorf("usage: %s", usage) }

func (c *Console) put(ctx context.Context, a *answer, rest string) error {
	key, value := nextWord(rest)
	if key == "" || value == "" {
		return usageError("put <string key> <value>")
	}
	n, err := c.node.Put(ctx, protocol.KeyFromString(key), []byte(value))
	if err != nil {
		return err
	}
	a.final("stored on %s", plural(n, "node"))
	return nil
}

func (c *Console) get(ctx context.Context, a *answer, rest string) error {
	args := strings.Fields(rest)
	if len(args) != 1 {
		return usageError("get <string key>")
	}
	v, err := c.node.Get(ctx, protocol.KeyFromString(args[0]))
	switch {
	case errors.Is(err, node.ErrNotFound):
		a.final("not found")
	case err != nil:
		return err
	default:
		a.final("value %s", FormatValue(v))
	}
	return nil
}

func (c *Console) ping(ctx context.Context, a *answer, rest string) error {
	const usage = "p <ip>:<port> [<key>]"
	args := strings.Fields(rest)
	if len(args) < 1 || len(args) > 2 {
		return usageError(usage)
	}
	to, err := parseTarget(args[0])
	if err != nil {
		return err
	}
	if len(args) == 2 {
		id, err := parseKey(args[1])
		if err != nil {
			return err
		}
		if !to.ID.IsZero() && to.ID != id {
			return fmt.Errorf("two different ids given: %s and %s", to.ID, id)
		}
		to.ID = id
	}
	got, err := c.node.Ping(ctx, to)
	if err != nil {
		return err
	}
	a.final("pong %s", got)
	return nil
}

func (c *Console) store(ctx context.Context, a *answer, rest string) error {
	const usage = "s <ip>:<port> <key> <value>"
	addr, rest := nextWord(rest)
	keyText, value := nextWord(rest)
	if addr == "" || keyText == "" || value == "" {
		return usageError(usage)
	}
	to, err := parseTarget(addr)
	if err != nil {
		return err
	}
	key, err := parseKey(keyText)
	if err != nil {
		return err
	}
	if err := c.node.StoreAt(ctx, to, key, []byte(value)); err != nil {
		return err
	}
	a.final("stored at %s", to.Addr)
	return nil
}

// targetAndKey parses "<addr> <key>".
func targetAndKey(rest, usage string) (protocol.Contact, protocol.ID, error) {
	args := strings.Fields(rest)
	if len(args) != 2 {
		return protocol.Contact{}, protocol.ID{}, usageError(usage)
	}
	to, err := parseTarget(args[0])
	if err != nil {
		return to, protocol.ID{}, err
	}
	key, err := parseKey(args[1])
	return to, key, err
}

func (c *Console) findNode(ctx context.Context, a *answer, rest string) error {
	to, key, err := targetAndKey(rest, "fn <ip>:<port> <key>")
	if err != nil {
		return err
	}
	cs, err := c.node.FindNode(ctx, to, key)
	if err != nil {
		return err
	}
	a.contacts(cs)
	return nil
}

func (c *Console) findValue(ctx context.Context, a *answer, rest string) error {
	to, key, err := targetAndKey(rest, "fv <ip>:<port> <key>")
	if err != nil {
		return err
	}
	v, cs, found, err := c.node.FindValue(ctx, to, key)
	if err != nil {
		return err
	}
	if found {
		a.final("value %s", FormatValue(v))
	} else {
		a.contacts(cs)
	}
	return nil
}

func (c *Console) lookupNode(ctx context.Context, a *answer, rest string) error {
	args := strings.Fields(rest)
	if len(args) != 1 {
		return usageError("ln <key>")
	}
	key, err := parseKey(args[0])
	if err != nil {
		return err
	}
	cs, err := c.node.Lookup(ctx, key)
	if err != nil {
		return err
	}
	a.contacts(cs)
	return nil
}

func (c *Console) lookupValue(ctx context.Context, a *answer, rest string) error {
	args := strings.Fields(rest)
	if len(args) != 1 {
		return usageError("lv <string key>")
	}
	key := protocol.KeyFromString(args[0])
	v, err := c.node.Get(ctx, key)
	switch {
	case err == nil:
		a.final("value %s", FormatValue(v))
		return nil
	case !errors.Is(err, node.ErrNotFound):
		return err
	}
	// Not found: show where the value would be, as the original's value lookup does.
	cs, err := c.node.Lookup(ctx, key)
	if err != nil && !errors.Is(err, node.ErrNoContacts) {
		return err
	}
	for _, ct := range cs {
		a.data("%s", ct)
	}
	a.final("not found")
	return nil
}

func (c *Console) id(a *answer, rest string) error {
	if strings.TrimSpace(rest) != "" {
		return usageError("id")
	}
	a.final("%s", NodeLine(c.node, c.Transport))
	return nil
}

func (c *Console) table(a *answer, rest string) error {
	if strings.TrimSpace(rest) != "" {
		return usageError("table")
	}
	a.contacts(c.node.Contacts())
	return nil
}

// helpCommands lists the commands, one a line, and helpNotes explains their arguments
// and answers; help prints both as data lines.
var (
	helpCommands = []string{
		"put <string key> <value>   store the value (rest of the line) on the k closest nodes",
		"get <string key>           find the value: own store first, then the network",
		"p  <addr> [<key>]          send PING; <key> is the ID the node should have",
		"s  <addr> <key> <value>    send STORE of the value (rest of the line) under <key>",
		"fn <addr> <key>            send FIND_NODE",
		"fv <addr> <key>            send FIND_VALUE",
		"ln <key>                   iterative node lookup: the k closest nodes to <key>",
		"lv <string key>            iterative value lookup (the closest nodes if not found)",
		"id                         this node's ID, address and transport",
		"table                      the routing table, closest to this node first",
		"help                       this list",
	}
	helpNotes = []string{
		"<key> is 40 hex characters; <string key> is any word, hashed with SHA-256 to 20 bytes;",
		"<addr> is IP:PORT, or ID@IP:PORT to check the node's ID too.",
		"Each answer is zero or more lines starting with two spaces, then one final line that",
		"does not: \"stored on N nodes\", \"value V\", \"not found\", \"pong ID@ADDR\",",
		"\"stored at ADDR\", \"N contacts\" (after N lines ID@ADDR), \"node ...\", \"N commands\"",
		"or \"error: ...\". A value that is not one line of printable text is Go-quoted.",
	}
)

func (c *Console) help(a *answer, rest string) error {
	if strings.TrimSpace(rest) != "" {
		return usageError("help")
	}
	for _, l := range helpCommands {
		a.data("%s", l)
	}
	a.data("")
	for _, l := range helpNotes {
		a.data("%s", l)
	}
	a.final("%d commands", len(helpCommands))
	return nil
}

// NodeLine describes a node as the first line of `kad node` does:
// "node <id> <ip>:<port> <transport>", followed by "verified" or "unverified" for
// transports that can prove IDs (quic).
func NodeLine(n *node.Node, transport string) string {
	s := fmt.Sprintf("node %s %s %s", n.ID(), n.Addr(), transport)
	if transport == "quic" {
		if n.Verified() {
			s += " verified"
		} else {
			s += " unverified"
		}
	}
	return s
}

// FormatValue returns v as the console prints it: as is if it is one line of printable
// UTF-8 text not starting with a double quote, else Go-quoted.
func FormatValue(v []byte) string {
	if len(v) > 0 && v[0] != '"' && utf8.Valid(v) {
		printable := true
		for _, r := range string(v) {
			if !unicode.IsPrint(r) {
				printable = false
				break
			}
		}
		if printable {
			return string(v)
		}
	}
	return strconv.Quote(string(v))
}

// nextWord splits s into its first word and the rest, without the blanks between them.
func nextWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// parseTarget reads IP:PORT or ID@IP:PORT.
func parseTarget(s string) (protocol.Contact, error) {
	if strings.Contains(s, "@") {
		return protocol.ParseContact(s)
	}
	addr, err := protocol.ParseAddr(s)
	if err != nil {
		return protocol.Contact{}, err
	}
	return protocol.Contact{Addr: addr}, nil
}

func parseKey(s string) (protocol.ID, error) {
	return protocol.ParseID(s)
}

// oneLine keeps an error or answer on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}
