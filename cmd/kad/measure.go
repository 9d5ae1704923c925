package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"kad/internal/figures"
)

// kad bench and kad sim are measurements: a run that writes its table to standard
// output as it goes, progress to standard error, may be plotted, and ends with one JSON
// line. What they share is here.

// result is what a measurement returns.
type result interface{ JSON() ([]byte, error) }

// measurement is one run of kad bench or kad sim, its flags checked.
type measurement[R result] struct {
	name string                                                    // the command, for its errors
	run  func(ctx context.Context, out, heap io.Writer) (R, error) // writes its table to out, and a heap profile of the idle nodes to heap if not nil
	plot string                                                    // file to plot to; empty: none
	what string                                                    // what the plot shows
	draw func(path string, r R) error
}

// runMeasurement runs m, with a context that SIGINT or SIGTERM cancels (closing every
// node), writes the plot if asked, and prints the JSON line last, all on the App's
// standard output.
func runMeasurement[R result](c *cli.Context, m measurement[R]) error {
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	stdout := c.App.Writer
	stopProfile, err := startCPUProfile(c.String("cpuprofile"))
	if err != nil {
		return cli.Exit(fmt.Errorf("%s: %w", m.name, err), exitFailure)
	}
	heap, closeHeap, err := createHeapProfile(c.String("memprofile"))
	if err != nil {
		stopProfile()
		return cli.Exit(fmt.Errorf("%s: %w", m.name, err), exitFailure)
	}
	res, err := m.run(ctx, stdout, heap)
	if cerr := closeHeap(); cerr != nil && err == nil {
		err = cerr
	}
	if perr := stopProfile(); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return cli.Exit(fmt.Errorf("%s: interrupted", m.name), exitFailure)
		}
		return cli.Exit(fmt.Errorf("%s: %w", m.name, err), exitFailure)
	}
	if m.plot != "" {
		if err := m.draw(m.plot, res); err != nil {
			return cli.Exit(fmt.Errorf("%s: %w", m.name, err), exitFailure)
		}
		fmt.Fprintf(stdout, "%s written to %s\n", m.what, m.plot)
	}
	line, err := res.JSON()
	if err != nil {
		return cli.Exit(err, exitFailure)
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return cli.Exit(err, exitFailure)
	}
	return nil
}

// cpuProfileFlag is --cpuprofile, of kad bench and kad sim.
func cpuProfileFlag() cli.Flag {
	return &cli.StringFlag{Name: "cpuprofile",
		Usage: "write a CPU profile of the whole run to `FILE` (for go tool pprof)"}
}

// memProfileFlag is --memprofile, of kad bench and kad sim.
func memProfileFlag() cli.Flag {
	return &cli.StringFlag{Name: "memprofile",
		Usage: "write a heap profile of the idle nodes, when their memory is measured, to `FILE` (for go tool pprof)"}
}

// createHeapProfile creates the file of --memprofile at path and returns it and what
// closes it; with an empty path, no writer and nothing to close.
func createHeapProfile(path string) (w io.Writer, close func() error, err error) {
	if path == "" {
		return nil, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--memprofile: %w", err)
	}
	return f, func() error {
		if err := f.Close(); err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		return nil
	}, nil
}

// startCPUProfile starts profiling the process's CPU into the file at path and returns
// what stops it and closes the file; with an empty path, nothing.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}, nil
}

// progressFlags returns where progress goes and how often, from --progress: 0 on the
// command line means none (where in a Config it means the default interval), so the
// writer is then nil.
func progressFlags(c *cli.Context) (io.Writer, time.Duration, error) {
	every := c.Duration("progress")
	switch {
	case every < 0:
		return nil, every, usageErrorf("--progress %v: want 0 or more", every)
	case every == 0:
		return nil, 0, nil
	}
	return c.App.ErrWriter, every, nil
}

// plotFlag returns --plot, checked to name a format that can be written.
func plotFlag(c *cli.Context) (string, error) {
	path := c.String("plot")
	if c.IsSet("plot") {
		if err := figures.CheckPlot(path); err != nil {
			return path, usageErrorf("--plot %q: %v", path, err)
		}
	}
	return path, nil
}
