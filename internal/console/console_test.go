package console

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"kad/internal/cluster"
	"kad/node"
	"kad/protocol"
)

// testCluster starts n nodes on one mem network, all bootstrapped through the first, and
// closes them when the test ends.
func testCluster(t *testing.T, n int) []*node.Node {
	t.Helper()
	return cluster.New(t, n, cluster.Options{Config: node.Config{K: 8}, Join: cluster.JoinFirst}).Nodes
}

// runConsole feeds input to a console on n and returns its answers, each a list of lines.
func runConsole(t *testing.T, n *node.Node, input string) [][]string {
	t.Helper()
	var out strings.Builder
	c := New(n, strings.NewReader(input), &out)
	c.Transport = "mem"
	c.Timeout = 5 * time.Second
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("console: %v", err)
	}
	return splitAnswers(t, out.String())
}

// splitAnswers cuts console output into answers: data lines up to a final line.
func splitAnswers(t *testing.T, out string) [][]string {
	t.Helper()
	var answers [][]string
	var cur []string
	for _, l := range strings.SplitAfter(out, "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			t.Fatalf("output does not end with a newline: %q", out)
		}
		l = strings.TrimSuffix(l, "\n")
		cur = append(cur, l)
		if !strings.HasPrefix(l, dataIndent) {
			answers = append(answers, cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatalf("output ends inside an answer: %q", out)
	}
	return answers
}

// final returns the last line of an answer.
func final(a []string) string { return a[len(a)-1] }

// contactsOf parses the data lines of an answer as contacts.
func contactsOf(t *testing.T, a []string) []protocol.Contact {
	t.Helper()
	var cs []protocol.Contact
	for _, l := range a[:len(a)-1] {
		c, err := protocol.ParseContact(strings.TrimPrefix(l, dataIndent))
		if err != nil {
			t.Fatalf("answer %q: %v", a, err)
		}
		cs = append(cs, c)
	}
	return cs
}

func TestConsole(t *testing.T) {
	nodes := testCluster(t, 6)
	a, b, c := nodes[0], nodes[1], nodes[2]
	missing := protocol.KeyFromString("never stored")
	stored := protocol.KeyFromString("direct")

	// Node b stores, a looks up and talks to single nodes, c reads back.
	got := runConsole(t, b, "put greeting hello  wide world \nput\n")
	if len(got) != 2 || !strings.HasPrefix(final(got[0]), "stored on ") || !strings.HasSuffix(final(got[0]), " nodes") {
		t.Fatalf("put: %q", got)
	}
	if !strings.HasPrefix(final(got[1]), "error: usage: put") {
		t.Errorf("put without arguments: %q", got[1])
	}

	input := strings.Join([]string{
		"help",
		"",
		"# a comment",
		"id",
		"get greeting",
		"get nothing-here",
		"lv greeting",
		"lv nothing-here",
		"p " + b.Addr().String(),
		"p " + b.Addr().String() + " " + b.ID().String(),
		"p " + b.Contact().String(),
		"p " + b.Addr().String() + " " + c.ID().String(),
		"s " + c.Addr().String() + " " + stored.String() + " two words\tand a tab",
		"fv " + c.Addr().String() + " " + stored.String(),
		"fv " + c.Addr().String() + " " + missing.String(),
		"fn " + c.Addr().String() + " " + missing.String(),
		"ln " + missing.String(),
		"table",
		"frobnicate now",
		"get",
		"p 127.0.0.1",
		"ln 1234",
		"fn " + c.Addr().String(),
		"id\r",         // a CRLF line ending
		"get greeting", // the last line, without a line ending
	}, "\n")
	got = runConsole(t, a, input)
	want := []func([]string) error{
		func(ans []string) error { // help
			if final(ans) != fmt.Sprintf("%d commands", len(commands)) || len(ans) < len(commands)+1 {
				return fmt.Errorf("bad help")
			}
			return nil
		},
		wantFinal("node " + a.ID().String() + " " + a.Addr().String() + " mem"),
		wantFinal("value hello  wide world "),
		wantFinal("not found"),
		wantFinal("value hello  wide world "),
		func(ans []string) error { // lv not found: the closest contacts, then "not found"
			if final(ans) != "not found" || len(ans) < 2 {
				return fmt.Errorf("want contacts then not found")
			}
			return nil
		},
		wantFinal("pong " + b.Contact().String()),
		wantFinal("pong " + b.Contact().String()),
		wantFinal("pong " + b.Contact().String()),
		wantPrefix("error: "), // b does not go by c's ID
		wantFinal("stored at " + c.Addr().String()),
		wantFinal(`value "two words\tand a tab"`),
		wantSuffix(" contacts"),
		wantSuffix(" contacts"),
		wantSuffix(" contacts"),
		wantSuffix(" contacts"),
		wantPrefix("error: unknown command \"frobnicate\""),
		wantPrefix("error: usage: get"),
		wantPrefix("error: "),
		wantPrefix("error: "),
		wantPrefix("error: usage: fn"),
		wantFinal("node " + a.ID().String() + " " + a.Addr().String() + " mem"),
		wantFinal("value hello  wide world "),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d answers, want %d: %q", len(got), len(want), got)
	}
	for i, check := range want {
		if err := check(got[i]); err != nil {
			t.Errorf("answer %d %q: %v", i, got[i], err)
		}
	}

	// ln: the contacts answered are the closest to the key among all nodes but a.
	cs := contactsOf(t, got[14])
	others := make([]protocol.Contact, 0, len(nodes)-1)
	for _, n := range nodes[1:] {
		others = append(others, n.Contact())
	}
	protocol.SortByDistance(missing, others)
	if len(cs) != len(others) {
		t.Fatalf("ln: %d contacts, want %d", len(cs), len(others))
	}
	for i := range cs {
		if cs[i] != others[i] {
			t.Errorf("ln contact %d: %s, want %s", i, cs[i], others[i])
		}
	}
	if cs := contactsOf(t, got[15]); len(cs) != len(nodes)-1 {
		t.Errorf("table: %d contacts, want %d", len(cs), len(nodes)-1)
	}

	got = runConsole(t, c, "get greeting\n")
	if len(got) != 1 || final(got[0]) != "value hello  wide world " {
		t.Errorf("get on another node: %q", got)
	}
}

func wantFinal(s string) func([]string) error {
	return func(a []string) error {
		if final(a) != s {
			return fmt.Errorf("want final line %q", s)
		}
		return nil
	}
}

func wantPrefix(s string) func([]string) error {
	return func(a []string) error {
		if len(a) != 1 || !strings.HasPrefix(a[0], s) {
			return fmt.Errorf("want one line starting %q", s)
		}
		return nil
	}
}

func wantSuffix(s string) func([]string) error {
	return func(a []string) error {
		if !strings.HasSuffix(final(a), s) {
			return fmt.Errorf("want final line ending %q", s)
		}
		return nil
	}
}

// TestCommandList checks that the command table, what help prints, what each name
// dispatches to, and the lists written for readers (this package's documentation and
// the README) say the same.
func TestCommandList(t *testing.T) {
	var want []string
	seen := make(map[string]bool)
	for i := range commands {
		cmd := &commands[i]
		if seen[cmd.name] {
			t.Errorf("command %q twice in the table", cmd.name)
		}
		seen[cmd.name] = true
		want = append(want, cmd.line())
	}
	nodes := testCluster(t, 1)
	con := New(nodes[0], strings.NewReader(""), &strings.Builder{})
	ctx := context.Background()

	t.Run("help", func(t *testing.T) {
		ans := splitAnswers(t, con.Exec(ctx, "help"))
		if len(ans) != 1 {
			t.Fatalf("help: %d answers, want 1", len(ans))
		}
		lines := ans[0]
		if len(lines) < len(want)+2 {
			t.Fatalf("help: %d lines, want more than %d", len(lines), len(want)+1)
		}
		for i, w := range want {
			if lines[i] != dataIndent+w {
				t.Errorf("help line %d: %q, want %q", i, lines[i], dataIndent+w)
			}
		}
		if lines[len(want)] != dataIndent {
			t.Errorf("help line %d: %q, want a blank data line after the commands", len(want), lines[len(want)])
		}
		if got, w := final(lines), fmt.Sprintf("%d commands", len(want)); got != w {
			t.Errorf("help: final line %q, want %q", got, w)
		}
	})

	t.Run("dispatch", func(t *testing.T) {
		for i := range commands {
			cmd := &commands[i]
			usage := "error: usage: " + cmd.synopsis() + "\n"
			if cmd.args == "" {
				if got := con.Exec(ctx, cmd.name); strings.HasPrefix(got, "error: ") {
					t.Errorf("%s: %q", cmd.name, got)
				}
				if got := con.Exec(ctx, cmd.name+" extra"); got != usage {
					t.Errorf("%s extra: %q, want %q", cmd.name, got, usage)
				}
			} else if got := con.Exec(ctx, cmd.name); got != usage {
				t.Errorf("%s without arguments: %q, want %q", cmd.name, got, usage)
			}
		}
	})

	t.Run("doc.go", func(t *testing.T) {
		checkList(t, "doc.go", docBlock(t, "doc.go", "// # Commands"), want)
	})

	t.Run("README.md", func(t *testing.T) {
		checkList(t, "README.md", fencedBlock(t, "../../README.md", "### Console"), want)
	})
}

func checkList(t *testing.T, file string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s lists the commands as\n%s\nthe table as\n%s", file, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// docBlock returns the first indented block of Go doc comment after the line heading,
// without the comment marks.
func docBlock(t *testing.T, path, heading string) []string {
	t.Helper()
	var block []string
	for _, l := range linesAfter(t, path, heading) {
		text, ok := strings.CutPrefix(l, "//\t")
		if ok {
			block = append(block, text)
		} else if block != nil {
			break
		}
	}
	return block
}

// fencedBlock returns the lines of the first ``` block of Markdown after the line
// heading.
func fencedBlock(t *testing.T, path, heading string) []string {
	t.Helper()
	var block []string
	in := false
	for _, l := range linesAfter(t, path, heading) {
		if strings.HasPrefix(l, "```") {
			if in {
				return block
			}
			in = true
			continue
		}
		if in {
			block = append(block, l)
		}
	}
	t.Fatalf("%s: no ``` block after %q", path, heading)
	return nil
}

// linesAfter returns the lines of the file at path that follow the line heading.
func linesAfter(t *testing.T, path, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == heading {
			return lines[i+1:]
		}
	}
	t.Fatalf("%s: no line %q", path, heading)
	return nil
}

func TestConsoleLongLine(t *testing.T) {
	nodes := testCluster(t, 1)
	got := runConsole(t, nodes[0], "put k "+strings.Repeat("x", maxLine+10)+"\nid\n")
	if len(got) != 2 || !strings.HasPrefix(final(got[0]), "error: line longer") || !strings.HasPrefix(final(got[1]), "node ") {
		t.Errorf("got %q", got)
	}
	got = runConsole(t, nodes[0], "put k "+strings.Repeat("x", protocol.MaxValueSize+1)+"\n")
	if len(got) != 1 || !strings.HasPrefix(final(got[0]), "error: ") {
		t.Errorf("value too large: got %q", got)
	}
}

func TestReadLine(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("one\r\n"+strings.Repeat("y", 50)+"\nthree"), 16)
	for _, want := range []struct {
		line    string
		tooLong bool
		eof     bool
	}{{"one", false, false}, {"", true, false}, {"three", false, true}} {
		line, tooLong, err := readLine(r, 20)
		if line != want.line || tooLong != want.tooLong || (err != nil) != want.eof {
			t.Errorf("readLine = %q, %v, %v; want %q, %v, eof %v", line, tooLong, err, want.line, want.tooLong, want.eof)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello world", "hello world"},
		{" leading space", " leading space"},
		{"ünïcödé", "ünïcödé"},
		{"", `""`},
		{`"quoted"`, `"\"quoted\""`},
		{"two\nlines", `"two\nlines"`},
		{"tab\there", `"tab\there"`},
		{"\xff\xfe", `"\xff\xfe"`},
	}
	for _, tt := range tests {
		if got := formatValue([]byte(tt.in)); got != tt.want {
			t.Errorf("formatValue(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
