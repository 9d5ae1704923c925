package main

import (
	"fmt"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// versionFlag is kad --version. cli's own version flag stays hidden (HideVersion), as it
// would print the version from a field set by hand; this one reads the binary's build
// information.
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Usage: "print the version and the commit kad was built from"}
}

// printVersion prints the line versionLine makes of this binary's build information.
func printVersion(c *cli.Context) error {
	info, ok := debug.ReadBuildInfo()
	_, err := fmt.Fprintln(c.App.Writer, versionLine(info, ok))
	return err
}

// versionLine describes a build: "kad v0.1.0" for a release; for a build from a
// checkout, "kad (devel) rev 3bccccc1d2e4 2026-12-02T05:00:00Z", the commit's first 12
// hexadecimal digits and its time, followed by "modified" if the tree had changes that
// were not committed. The go command records the commit only when it builds with VCS
// stamping (the default for go build in a checkout; -buildvcs=false turns it off); it
// records no build time.
func versionLine(info *debug.BuildInfo, ok bool) string {
	version := "(devel)"
	if ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	line := "kad " + version
	if !ok {
		return line
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return line
	}
	line += " rev " + rev[:min(len(rev), 12)]
	if at != "" {
		line += " " + at
	}
	if modified {
		line += " modified"
	}
	return line
}
