package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"kad/api"
	"kad/node"
	"kad/transports"
)

// The http.Server's bounds on one connection of the API: the routes read at most a
// value (64 kB) and answer within api.DefaultTimeout.
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiReadTimeout       = time.Minute
	apiWriteTimeout      = api.DefaultTimeout + 10*time.Second
	apiIdleTimeout       = 2 * time.Minute
	apiMaxHeaderBytes    = 16 << 10
	// apiShutdownTimeout is how long stopping the API waits for requests in flight.
	apiShutdownTimeout = 5 * time.Second
)

// apiFlags is what the API flags of `kad node` say, checked.
type apiFlags struct {
	addr   string // empty: no API
	public bool
}

// apiFlagList returns the flags of `kad node` that serve the HTTP API.
func apiFlagList() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api", EnvVars: []string{"KAD_API_ADDR"},
			Usage: "serve the HTTP API and /metrics on `HOST:PORT` (port 0 picks a free one); a loopback host unless --api-public"},
		&cli.BoolFlag{Name: "api-public", EnvVars: []string{"KAD_API_PUBLIC"},
			Usage: "let --api listen on a host that is not loopback: whoever reaches it can store values and make the node send pings"},
	}
}

// parseAPIFlags checks the API flags; every error is a usage error.
func parseAPIFlags(c *cli.Context) (apiFlags, error) {
	f := apiFlags{addr: c.String("api"), public: c.Bool("api-public")}
	if f.addr == "" {
		if f.public {
			return f, usageErrorf("--api-public needs --api")
		}
		return f, nil
	}
	host, port, err := net.SplitHostPort(f.addr)
	if err != nil {
		return f, usageErrorf("--api %q: want HOST:PORT", f.addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return f, usageErrorf("--api %q: port %q: want a number 0..65535", f.addr, port)
	}
	if !f.public && !loopbackHost(host) {
		return f, usageErrorf("--api %q: not a loopback address; add --api-public to serve the API to other hosts", f.addr)
	}
	return f, nil
}

// loopbackHost reports whether host names only this machine: a loopback IP, or
// localhost. An empty host is every interface.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// startAPI serves the HTTP API of n (its transport tr, named transportName; m, its
// lookup metrics, wired as its Config.OnLookup) at the address f names, and writes the
// line "api http://HOST:PORT" on out, with the port chosen if f asked for port 0. With
// no --api it does nothing. Requests run under ctx. stop shuts the server down, waiting
// a few seconds for requests in flight; it may be called more than once.
func startAPI(ctx context.Context, out io.Writer, logger *slog.Logger, f apiFlags, n *node.Node, tr transports.Transport, transportName string, m *api.Metrics) (stop func() error, err error) {
	if f.addr == "" {
		return func() error { return nil }, nil
	}
	h, err := api.New(n, api.Options{TransportName: transportName, Transport: tr, Metrics: m, Logger: logger, AnyHost: f.public})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: apiReadHeaderTimeout,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       apiIdleTimeout,
		MaxHeaderBytes:    apiMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	url := "http://" + ln.Addr().String()
	logger.Info("api listening", "addr", ln.Addr().String())
	if _, err := fmt.Fprintln(out, "api", url); err != nil {
		ln.Close()
		return nil, err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var (
		once    sync.Once
		stopErr error
	)
	return func() error {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), apiShutdownTimeout)
			defer cancel()
			stopErr = srv.Shutdown(sctx)
			if errors.Is(stopErr, context.DeadlineExceeded) {
				stopErr = srv.Close() // the requests still running are cut
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) && stopErr == nil {
				stopErr = err
			}
		})
		return stopErr
	}, nil
}
