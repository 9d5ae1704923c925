package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"
)

// Log formats, as --log-format names them.
const (
	logText = "text" // log/slog's key=value lines
	logJSON = "json" // one JSON object a line
)

// logFormatFlag is --log-format: how the logs on standard error are written.
func logFormatFlag() cli.Flag {
	return &cli.StringFlag{Name: "log-format", Value: logText, EnvVars: []string{"KAD_LOG_FORMAT"},
		Usage: "`FORMAT` of the logs on standard error: text (key=value) or json (one object a line)"}
}

// parseLogFormat reads --log-format: text or json, in any case.
func parseLogFormat(s string) (string, error) {
	switch f := strings.ToLower(s); f {
	case logText, logJSON:
		return f, nil
	}
	return "", usageErrorf("--log-format %q: want text or json", s)
}

// newLogger returns a logger that writes records of level and above to w in format,
// text or json (as parseLogFormat reads them). Another format is a usage error.
func newLogger(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	f, err := parseLogFormat(format)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if f == logJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
