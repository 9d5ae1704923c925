package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"kad/internal/console"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the program failed at something other than its arguments
	exitUsage   = 2 // bad flag, bad environment variable, failed bootstrap
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run runs the command line args on the given streams and returns the exit status: that
// of the error if it is a cli.ExitCoder, else exitFailure. Failures are reported as one
// line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp()
	app.Reader, app.Writer, app.ErrWriter = stdin, stdout, stderr
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	fmt.Fprintf(stderr, "kad: %s\n", console.OneLine(err.Error()))
	return code
}

// usageErrorf reports a bad flag, argument or environment variable: exit status 2.
func usageErrorf(format string, args ...any) error {
	return cli.Exit(fmt.Errorf(format, args...), exitUsage)
}

// newApp returns the command line; its actions read and write the App's streams.
func newApp() *cli.App {
	return &cli.App{
		Name:      "kad",
		Usage:     "a Kademlia distributed hash table",
		UsageText: "kad node [flags]\n   kad put|get|lookup|ping|status [flags] [args]\n   kad bench [flags]\n   kad sim [flags]\n   kad completion bash|zsh|fish",
		// run prints every error, once, and picks the exit status.
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    onUsageError,
		HideVersion:     true, // kad's own --version (version.go) instead
		HideHelpCommand: true,
		// --generate-bash-completion lists what fits, for kad completion's scripts.
		EnableBashCompletion: true,
		Flags:                []cli.Flag{versionFlag()},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				return printVersion(c)
			}
			if c.Args().Present() {
				return usageErrorf("unknown command %q (commands: node, put, get, lookup, ping, status, bench, sim, completion)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: append([]*cli.Command{nodeCommand(), benchCommand(), simCommand(), completionCommand()}, clientCommands()...),
	}
}

// onUsageError makes an error of the flag parser a usage error, worded as kad's others
// when the command's arguments hold a flag the parser refuses by its grammar: "unknown
// flag --colour", "flag --id needs a value". The parser's errors are plain text, so the
// flag is found again in the arguments rather than read out of the message; any other
// error (a value that does not parse, a bad environment variable) names what is wrong
// itself. The root command's arguments are not kept for this hook, so its errors are
// the parser's, with a pointer to the help.
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	// A subcommand's arguments are the rest of its parent's.
	if lineage := c.Lineage(); isSubcommand && len(lineage) > 1 {
		name, needsValue, found := badFlag(lineage[1].Args().Tail(), c.Command.Flags)
		switch {
		case found && needsValue:
			return usageErrorf("flag %s needs a value", dashes(name))
		case found:
			return usageErrorf("unknown flag %s", dashes(name))
		}
		return usageErrorf("%w", err)
	}
	return usageErrorf("%w; see kad --help", err)
}

// badFlag returns the first of args that package flag (under cli) refuses by its
// grammar alone: a flag that names none of flags, or one that takes a value and ends
// args. Flags end at "--" or at the first argument that is not a flag; a flag that takes
// a value takes the next argument unless written -name=value. A value that does not
// parse is not looked for: the parser's message names it.
func badFlag(args []string, flags []cli.Flag) (name string, needsValue, found bool) {
	takesValue := map[string]bool{"help": false, "h": false} // cli adds --help, -h
	for _, f := range flags {
		tv := true
		if d, ok := f.(cli.DocGenerationFlag); ok {
			tv = d.TakesValue()
		}
		for _, n := range f.Names() {
			takesValue[n] = tv
		}
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if len(arg) < 2 || arg[0] != '-' || arg == "--" {
			return "", false, false
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
		tv, known := takesValue[name]
		switch {
		case !known:
			return name, false, true
		case tv && !hasValue:
			if i+1 == len(args) {
				return name, true, true
			}
			i++ // the value
		}
	}
	return "", false, false
}

// dashes writes a flag the way the help does: -k, --bind.
func dashes(name string) string {
	if len(name) > 1 {
		return "--" + name
	}
	return "-" + name
}
