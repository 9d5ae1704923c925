package console

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

// DefaultTimeout bounds one command unless Console.Timeout says otherwise.
const DefaultTimeout = 10 * time.Second

// maxLine bounds a line: a value up to protocol.MaxValueSize plus the command, address
// and key in front of it.
const maxLine = protocol.MaxValueSize + 1024

// dataIndent starts every data line of an answer; the final line never starts with it.
const dataIndent = "  "

// Console runs the commands of the original kademlia-rs console against a Node: it reads
// them line by line and writes one answer per command. The commands and the answer
// format are described in the package documentation and by the help command.
type Console struct {
	node *node.Node
	in   io.Reader
	out  io.Writer

	// Timeout bounds each command. Zero means DefaultTimeout.
	Timeout time.Duration
	// Transport names the transport in the answer to id ("udp", "quic", ...).
	Transport string

	// HistoryFile, if set, keeps the lines typed on a terminal from one Run to the next:
	// it is read when Run starts and written (mode 0600) when Run ends. Lines read from
	// a pipe are never kept.
	HistoryFile string
	// HistorySize bounds the history. Zero means DefaultHistorySize.
	HistorySize int
	// Interrupt is called for Ctrl-C on an empty line at the prompt. Nil means to send
	// os.Interrupt (SIGINT) to this process, as the terminal itself does for Ctrl-C when
	// no line editor runs.
	Interrupt func()
	// Shared, if set, carries what else the program prints to the terminal (its logs):
	// while Run edits lines, that goes above the prompt instead of into it.
	Shared *SharedOutput
}

// New returns a console that reads commands from in and writes answers to out.
func New(n *node.Node, in io.Reader, out io.Writer) *Console {
	return &Console{node: n, in: in, out: out}
}

// A command is one entry of the console's table.
type command struct {
	name string
	args string // as help and usage errors show them; empty: the command takes none
	help string
	// run answers the command given the rest of the line. An error wrapping errUsage
	// becomes "usage: " and the command's synopsis.
	run func(c *Console, ctx context.Context, a *answer, args string) error
}

// commands is the console's table: Exec dispatches on it, help prints it, and the
// package documentation lists it (a test checks the three agree). It is filled in by
// init because help, one of its entries, reads it.
var commands []command

func init() {
	commands = []command{
		{"put", "<string key> <value>", "store the value (rest of the line) on the k closest nodes", (*Console).put},
		{"get", "<string key>", "find the value: own store first, then the network", (*Console).get},
		{"p", "<addr> [<key>]", "send PING; <key> is the ID the node should have", (*Console).ping},
		{"s", "<addr> <key> <value>", "send STORE of the value (rest of the line) under <key>", (*Console).store},
		{"fn", "<addr> <key>", "send FIND_NODE", (*Console).findNode},
		{"fv", "<addr> <key>", "send FIND_VALUE", (*Console).findValue},
		{"ln", "<key>", "iterative node lookup: the k closest nodes to <key>", (*Console).lookupNode},
		{"lv", "<string key>", "iterative value lookup (the closest nodes if not found)", (*Console).lookupValue},
		{"id", "", "this node's ID, address and transport", (*Console).id},
		{"table", "", "the routing table, closest to this node first", (*Console).table},
		{"help", "", "this list", (*Console).help},
	}
}

// lookup returns the command called name, or nil.
func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// synopsis is the command as a usage error shows it: "p <addr> [<key>]".
func (cmd *command) synopsis() string {
	return strings.TrimSpace(cmd.name + " " + cmd.args)
}

// helpColumn is where the help text of a command starts in its line of help.
const helpColumn = 27

// line is the command as help lists it: the name, padded so that one- and two-letter
// names line up their arguments, the arguments, and the help from helpColumn on.
func (cmd *command) line() string {
	return fmt.Sprintf("%-*s%s", helpColumn, strings.TrimSpace(fmt.Sprintf("%-2s %s", cmd.name, cmd.args)), cmd.help)
}

// errUsage is returned by a command called with the wrong arguments.
var errUsage = errors.New("usage")

// Run reads and runs commands until the input ends (it then returns nil), ctx ends, or
// writing an answer fails. Commands run one at a time, each under ctx and the timeout.
//
// When the console reads from and writes to a terminal (see OnTerminal), Run edits the
// lines it reads, with a prompt, history, and completion of command names; it puts the
// terminal back as it found it before it returns, and it returns as soon as ctx ends.
// Otherwise it reads lines as they come; it may then stay blocked in a read after ctx
// has ended, and returns after that read.
func (c *Console) Run(ctx context.Context) error {
	if in, inFD, ok := terminalFD(c.in); ok {
		if _, outFD, ok := terminalFD(c.out); ok {
			return c.runTerminal(ctx, in, inFD, outFD)
		}
	}
	return c.runLines(ctx)
}

// runLines is Run on input that is not a terminal.
func (c *Console) runLines(ctx context.Context) error {
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
	name, rest := nextWord(line)
	if name == "" || strings.HasPrefix(name, "#") {
		return ""
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var a answer
	var err error
	switch cmd := lookup(name); {
	case cmd == nil:
		err = fmt.Errorf("unknown command %q (try help)", name)
	case cmd.args == "" && strings.TrimSpace(rest) != "":
		err = fmt.Errorf("usage: %s", cmd.synopsis())
	default:
		if err = cmd.run(c, ctx, &a, rest); errors.Is(err, errUsage) {
			err = fmt.Errorf("usage: %s", cmd.synopsis())
		}
	}
	if err != nil {
		a = answer{}
		a.final("error: %s", OneLine(err.Error()))
	}
	return a.String()
}

// answer collects the lines of one answer.
type answer struct{ b strings.Builder }

func (a *answer) data(format string, args ...any) {
	a.b.WriteString(dataIndent)
	a.b.WriteString(OneLine(fmt.Sprintf(format, args...)))
	a.b.WriteByte('\n')
}

func (a *answer) final(format string, args ...any) {
	a.b.WriteString(strings.TrimLeft(OneLine(fmt.Sprintf(format, args...)), " "))
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

func (c *Console) put(ctx context.Context, a *answer, rest string) error {
	key, value := nextWord(rest)
	if key == "" || value == "" {
		return errUsage
	}
	n, err := c.node.Put(ctx, protocol.KeyFromString(key), []byte(value))
	if err != nil {
		return err
	}
	a.final("stored on %s", plural(n, "node"))
	return nil
}

func (c *Console) get(ctx context.Context, a *answer, rest string) error {
	arg, err := oneArg(rest)
	if err != nil {
		return err
	}
	v, err := c.node.Get(ctx, protocol.KeyFromString(arg))
	switch {
	case errors.Is(err, node.ErrNotFound):
		a.final("not found")
	case err != nil:
		return err
	default:
		a.final("value %s", formatValue(v))
	}
	return nil
}

func (c *Console) ping(ctx context.Context, a *answer, rest string) error {
	args := strings.Fields(rest)
	if len(args) < 1 || len(args) > 2 {
		return errUsage
	}
	to, err := ParseTarget(args[0])
	if err != nil {
		return err
	}
	if len(args) == 2 {
		id, err := protocol.ParseID(args[1])
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
	addr, rest := nextWord(rest)
	keyText, value := nextWord(rest)
	if addr == "" || keyText == "" || value == "" {
		return errUsage
	}
	to, err := ParseTarget(addr)
	if err != nil {
		return err
	}
	key, err := protocol.ParseID(keyText)
	if err != nil {
		return err
	}
	if err := c.node.StoreAt(ctx, to, key, []byte(value)); err != nil {
		return err
	}
	a.final("stored at %s", to.Addr)
	return nil
}

// oneArg returns the one word of rest.
func oneArg(rest string) (string, error) {
	args := strings.Fields(rest)
	if len(args) != 1 {
		return "", errUsage
	}
	return args[0], nil
}

// targetAndKey parses "<addr> <key>".
func targetAndKey(rest string) (protocol.Contact, protocol.ID, error) {
	args := strings.Fields(rest)
	if len(args) != 2 {
		return protocol.Contact{}, protocol.ID{}, errUsage
	}
	to, err := ParseTarget(args[0])
	if err != nil {
		return to, protocol.ID{}, err
	}
	key, err := protocol.ParseID(args[1])
	return to, key, err
}

func (c *Console) findNode(ctx context.Context, a *answer, rest string) error {
	to, key, err := targetAndKey(rest)
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
	to, key, err := targetAndKey(rest)
	if err != nil {
		return err
	}
	v, cs, found, err := c.node.FindValue(ctx, to, key)
	if err != nil {
		return err
	}
	if found {
		a.final("value %s", formatValue(v))
	} else {
		a.contacts(cs)
	}
	return nil
}

func (c *Console) lookupNode(ctx context.Context, a *answer, rest string) error {
	arg, err := oneArg(rest)
	if err != nil {
		return err
	}
	key, err := protocol.ParseID(arg)
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
	arg, err := oneArg(rest)
	if err != nil {
		return err
	}
	key := protocol.KeyFromString(arg)
	v, err := c.node.Get(ctx, key)
	switch {
	case err == nil:
		a.final("value %s", formatValue(v))
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

func (c *Console) id(_ context.Context, a *answer, _ string) error {
	a.final("%s", NodeLine(c.node, c.Transport))
	return nil
}

func (c *Console) table(_ context.Context, a *answer, _ string) error {
	a.contacts(c.node.Contacts())
	return nil
}

// helpNotes explain the arguments and the answers; help prints them after the commands.
var helpNotes = []string{
	"<key> is 40 hex characters; <string key> is any word, hashed with SHA-256 to 20 bytes;",
	"<addr> is IP:PORT, or ID@IP:PORT to check the node's ID too.",
	"Each answer is zero or more lines starting with two spaces, then one final line that",
	"does not: \"stored on N nodes\", \"value V\", \"not found\", \"pong ID@ADDR\",",
	"\"stored at ADDR\", \"N contacts\" (after N lines ID@ADDR), \"node ...\", \"N commands\"",
	"or \"error: ...\". A value that is not one line of printable text is Go-quoted.",
}

func (c *Console) help(_ context.Context, a *answer, _ string) error {
	for i := range commands {
		a.data("%s", commands[i].line())
	}
	a.data("")
	for _, l := range helpNotes {
		a.data("%s", l)
	}
	a.final("%d commands", len(commands))
	return nil
}

// NodeLine describes a node as the first line of `kad node` and the answer to id do:
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

// formatValue returns v as the console prints it: as is if it is one line of printable
// UTF-8 text not starting with a double quote, else Go-quoted.
func formatValue(v []byte) string {
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

// ParseTarget reads an <addr>: IP:PORT, or ID@IP:PORT to name the node's ID too. The
// contact's ID is zero when s names none.
func ParseTarget(s string) (protocol.Contact, error) {
	if strings.Contains(s, "@") {
		return protocol.ParseContact(s)
	}
	addr, err := protocol.ParseAddr(s)
	if err != nil {
		return protocol.Contact{}, err
	}
	return protocol.Contact{Addr: addr}, nil
}

// OneLine joins the lines of s with "; ", so that an error or an answer stays one line.
func OneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}
