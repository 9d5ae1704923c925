package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/urfave/cli/v2"

	"kad/api"
	"kad/internal/console"
	"kad/internal/transport"
	"kad/node"
	"kad/protocol"
)

// oneShotHost is the API's host name inside a one-shot client: its requests never leave
// the process.
const oneShotHost = "one-shot.kad.invalid"

// oneShotFlags are the client commands' flags that make a one-shot client: a node of its
// own, for the one command, instead of a running node's API.
func oneShotFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "bootstrap",
			Usage: "instead of a node's API, run a client-only node for this one command, joined through the node at `ID@IP:PORT` (or IP:PORT); repeatable"},
		&cli.StringFlag{Name: "transport", Value: transport.UDP, Usage: "`NAME` of the one-shot client's transport: udp or quic"},
		networkFlag(),
		&cli.StringFlag{Name: "bind", Usage: "`HOST:PORT` the one-shot client sends from (default: port 0 of the loopback for a loopback bootstrap node, else of every interface)"},
	}
}

// oneShot is a client-only node, run for one command, with its API served in-process.
type oneShot struct {
	n *node.Node
}

// startOneShot starts the one-shot client the flags ask for, if any, and returns an
// http.RoundTripper that serves its API in-process; nil, with no error, when the flags
// name no bootstrap node. The node is client-only: it answers no one and enters no
// routing table, and it joins by pinging the bootstrap nodes, which puts them in its
// table for the command's lookups, without the lookups of a full join.
func startOneShot(ctx context.Context, c *cli.Context) (*oneShot, http.RoundTripper, error) {
	if !c.IsSet("bootstrap") {
		return nil, nil, nil
	}
	var seeds []protocol.Contact
	for _, s := range c.StringSlice("bootstrap") {
		ct, err := console.ParseTarget(s)
		if err != nil {
			return nil, nil, usageErrorf("--bootstrap: %v", err)
		}
		seeds = append(seeds, ct)
	}
	name := c.String("transport")
	if transport.Check(name) != nil || name == transport.Mem {
		return nil, nil, usageErrorf("--transport %q: want udp or quic", name)
	}
	bind := c.String("bind")
	if bind == "" {
		bind = "0.0.0.0:0"
		if ip := seeds[0].Addr.Addr().Unmap(); ip.IsLoopback() {
			bind = netip.AddrPortFrom(ip, 0).String()
		} else if ip.Is6() {
			bind = "[::]:0"
		}
	} else if err := checkBind(bind); err != nil {
		return nil, nil, usageErrorf("--bind %q: %v", bind, err)
	}
	network, err := parseNetwork(c.String("network"))
	if err != nil {
		return nil, nil, err
	}
	tr, err := transport.Open(name, transport.Options{Bind: bind, NetworkName: network})
	if err != nil {
		return nil, nil, cli.Exit(err, exitUsage)
	}
	n, err := node.New(node.Config{ClientOnly: true}, tr)
	if err != nil {
		return nil, nil, cli.Exit(err, exitUsage)
	}
	var errs []error
	for _, s := range seeds {
		if _, err := n.Ping(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("bootstrap %s: %w", s.Addr, err))
		}
	}
	if len(errs) == len(seeds) {
		n.Close()
		return nil, nil, cli.Exit(errors.Join(errs...), exitUsage)
	}
	srv, err := api.New(n, api.Options{TransportName: name, Transport: tr, Logger: slog.New(slog.DiscardHandler), AnyHost: true})
	if err != nil {
		n.Close()
		return nil, nil, cli.Exit(err, exitUsage)
	}
	return &oneShot{n: n}, handlerTransport{srv}, nil
}

func (o *oneShot) close() {
	if o != nil {
		o.n.Close()
	}
}

// handlerTransport answers HTTP requests by calling a handler, in-process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return resp, nil
}
