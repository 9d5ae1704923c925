package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
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

// run runs the command line args and returns the exit status. Failures are reported as
// one line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	fmt.Fprintf(stderr, "kad: %s\n", oneLine(err.Error()))
	return code
}

// exitError carries the exit status a failure ends the program with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a bad flag, argument or environment variable: exit status 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// failure wraps err with an exit status.
func failure(code int, err error) error {
	return &exitError{code: code, err: err}
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	onUsageError := func(_ *cli.Context, err error, _ bool) error {
		return &exitError{code: exitUsage, err: cleanUsageError(err)}
	}
	app := &cli.App{
		Name:      "kad",
		Usage:     "a Kademlia distributed hash table",
		UsageText: "kad node [flags]\n   kad bench [flags]",
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		// run prints every error, once, and picks the exit status.
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    onUsageError,
		HideVersion:     true,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown command %q (commands: node, bench)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			nodeCommand(stdin, stdout, stderr, onUsageError),
			benchCommand(stdout, stderr, onUsageError),
		},
	}
	return app
}

// cleanUsageError rewrites the flag package's messages to read as the rest of kad's.
func cleanUsageError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Errorf("unknown flag %s", dashes(name))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("flag %s needs a value", dashes(name))
	}
	return err
}

// dashes writes a flag the way the help does: -k, --bind.
func dashes(flag string) string {
	name := strings.TrimLeft(flag, "-")
	if len(name) > 1 {
		return "--" + name
	}
	return "-" + name
}
