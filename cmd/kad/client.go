package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"kad/api"
	"kad/protocol"
)

// The client commands use a running node through its HTTP API (kad node --api, package
// kad/api):
//
//	kad put    [--api HOST:PORT] [--hex] [--json] [--timeout D] KEY VALUE   (VALUE - reads stdin)
//	kad get    [--api HOST:PORT] [--hex] [--json] [--timeout D] KEY
//	kad lookup [--api HOST:PORT] [--hex] [--json] [--timeout D] KEY
//	kad ping   [--api HOST:PORT] [--json] [--timeout D] ADDR
//	kad status [--api HOST:PORT] [--json] [--timeout D]
//
// --api defaults to 127.0.0.1:7000, or KAD_API. A KEY is a string, hashed as the
// console's put and get hash theirs; with --hex, 40 hexadecimal characters. get prints
// the value and a newline; under --json, every command prints the API's JSON answer, and
// get {"key": HEX, "value": BASE64}. Their exit statuses are grep's: 0 done, 1 not found
// (get), 2 a bad argument or a failure, with one line on standard error.
const exitNotFound = 1

// defaultAPI is where the client commands look for a node's API unless told.
const defaultAPI = "127.0.0.1:7000"

// defaultClientTimeout bounds one client command: a little longer than the API's own
// bound on a request, so that its answer (504 timeout) comes first.
const defaultClientTimeout = api.DefaultTimeout + 5*time.Second

func clientFlagList(withKey bool) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "api", Value: defaultAPI, EnvVars: []string{"KAD_API"},
			Usage: "the node's API at `HOST:PORT` (or http://HOST:PORT), as kad node --api serves it"},
		&cli.BoolFlag{Name: "json", Usage: "print the API's JSON answer"},
		&cli.DurationFlag{Name: "timeout", Value: defaultClientTimeout, Usage: "`DURATION` bound on the command"},
	}
	if withKey {
		flags = append(flags, &cli.BoolFlag{Name: "hex", Usage: "KEY is 40 hexadecimal characters, the key itself, rather than a string to hash"})
	}
	return append(flags, oneShotFlags()...)
}

// clientCommands returns the commands that use a running node through its API.
func clientCommands() []*cli.Command {
	cmd := func(name, args, usage string, withKey bool, nargs int, action func(*client, []string) error) *cli.Command {
		return &cli.Command{
			Name:         name,
			Usage:        usage,
			UsageText:    "kad " + name + " [flags] " + args,
			Flags:        clientFlagList(withKey),
			OnUsageError: onUsageError,
			// No help subcommand: "kad get help" gets the key "help".
			HideHelpCommand: true,
			Action: func(c *cli.Context) error {
				if c.NArg() != nargs {
					if nargs == 0 {
						return usageErrorf("%s takes no arguments, got %q", name, c.Args().First())
					}
					return usageErrorf("%s takes %s, got %s", name, args, plural(c.NArg(), "argument"))
				}
				cl, err := newClient(c)
				if err != nil {
					return err
				}
				defer cl.close()
				return action(cl, c.Args().Slice())
			},
		}
	}
	return []*cli.Command{
		cmd("put", "KEY VALUE", "store VALUE (- reads standard input) under KEY on the k closest nodes", true, 2, (*client).put),
		cmd("get", "KEY", "print the value stored under KEY", true, 1, (*client).get),
		cmd("lookup", "KEY", "print the k nodes closest to KEY", true, 1, (*client).lookup),
		cmd("ping", "ADDR", "PING the node at ADDR, ID@IP:PORT or IP:PORT", false, 1, (*client).ping),
		cmd("status", "", "print the node's status", false, 0, (*client).status),
	}
}

// client is one client command's connection to the API.
type client struct {
	ctx    context.Context
	cancel context.CancelFunc
	base   string // http://HOST:PORT
	http   *http.Client
	hex    bool
	json   bool
	stdin  io.Reader
	stdout io.Writer
	one    *oneShot // the one-shot client's node, with --bootstrap
}

func newClient(c *cli.Context) (*client, error) {
	base := c.String("api")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Path != "" && u.Path != "/" {
		return nil, usageErrorf("--api %q: want HOST:PORT or http://HOST:PORT", c.String("api"))
	}
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return nil, usageErrorf("--timeout %v: want more than 0", timeout)
	}
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	one, rt, err := startOneShot(ctx, c)
	if err != nil {
		cancel()
		return nil, err
	}
	if one != nil {
		if c.IsSet("api") {
			one.close()
			cancel()
			return nil, usageErrorf("--api and --bootstrap: want one, a running node's API or a one-shot client")
		}
		return &client{ctx: ctx, cancel: cancel, base: "http://" + oneShotHost, http: &http.Client{Transport: rt},
			hex: c.Bool("hex"), json: c.Bool("json"), stdin: c.App.Reader, stdout: c.App.Writer, one: one}, nil
	}
	return &client{
		ctx:    ctx,
		cancel: cancel,
		base:   u.Scheme + "://" + u.Host,
		// One request a command: no connection kept for a next one, and no proxy
		// between a client and its node.
		http:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		hex:    c.Bool("hex"),
		json:   c.Bool("json"),
		stdin:  c.App.Reader,
		stdout: c.App.Writer,
	}, nil
}

func (cl *client) close() {
	cl.cancel()
	cl.http.CloseIdleConnections()
	cl.one.close()
}

// keyPath returns route/KEY, escaped, with ?key=hex under --hex.
func (cl *client) keyPath(route, key string) (string, error) {
	if !cl.hex {
		return route + url.PathEscape(key), nil
	}
	if _, err := protocol.ParseID(key); err != nil {
		return "", usageErrorf("--hex key %q: %v", key, err)
	}
	return route + key + "?key=hex", nil
}

// call sends a request and returns the body of a successful answer. A failure is an
// error with the exit status it calls for.
func (cl *client) call(method, path string, body []byte) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(cl.ctx, method, cl.base+path, r)
	if err != nil {
		return nil, cli.Exit(err, exitUsage)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, cli.Exit(fmt.Errorf("%s %s: no answer within --timeout", method, cl.base+path), exitUsage)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the method and URL again
		}
		return nil, cli.Exit(fmt.Errorf("%s: %w (is a node serving --api there?)", cl.base, err), exitUsage)
	}
	defer resp.Body.Close()
	// The largest answer is a value; a status or lookup is a few kilobytes.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4*protocol.MaxValueSize))
	if err != nil {
		return nil, cli.Exit(fmt.Errorf("%s %s: %w", method, cl.base+path, err), exitUsage)
	}
	if resp.StatusCode == http.StatusOK {
		return b, nil
	}
	var e api.Error
	if json.Unmarshal(b, &e) != nil || e.Code == "" {
		return nil, cli.Exit(fmt.Errorf("%s %s: %s", method, cl.base+path, resp.Status), exitUsage)
	}
	if e.Code == api.CodeNotFound && method == http.MethodGet {
		return nil, cli.Exit(&e, exitNotFound)
	}
	return nil, cli.Exit(fmt.Errorf("%s (%s)", e.Message, e.Code), exitUsage)
}

// answer decodes the JSON body b into v, or prints it as it is under --json, in which
// case it returns false.
func (cl *client) answer(b []byte, v any) (bool, error) {
	if cl.json {
		_, err := cl.stdout.Write(b)
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, cli.Exit(fmt.Errorf("the API's answer: %w", err), exitUsage)
	}
	return true, nil
}

func (cl *client) put(args []string) error {
	path, err := cl.keyPath("/v1/values/", args[0])
	if err != nil {
		return err
	}
	value := []byte(args[1])
	if args[1] == "-" {
		if value, err = io.ReadAll(io.LimitReader(cl.stdin, protocol.MaxValueSize+1)); err != nil {
			return cli.Exit(fmt.Errorf("read the value: %w", err), exitUsage)
		}
	}
	if len(value) > protocol.MaxValueSize {
		return usageErrorf("value over %d bytes", protocol.MaxValueSize)
	}
	b, err := cl.call(http.MethodPut, path, value)
	if err != nil {
		return err
	}
	var st api.Stored
	if ok, err := cl.answer(b, &st); !ok {
		return err
	}
	_, err = fmt.Fprintf(cl.stdout, "stored on %s\n", plural(st.Replicas, "node"))
	return err
}

// plural returns "1 node", "3 nodes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (cl *client) get(args []string) error {
	path, err := cl.keyPath("/v1/values/", args[0])
	if err != nil {
		return err
	}
	b, err := cl.call(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if cl.json {
		// The API answers the value's bytes as they are; in JSON they are base64.
		key := protocol.KeyFromString(args[0])
		if cl.hex {
			key = protocol.MustParseID(args[0])
		}
		out, err := json.Marshal(struct {
			Key   protocol.ID `json:"key"`
			Value []byte      `json:"value"`
		}{key, b})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cl.stdout, "%s\n", out)
		return err
	}
	_, err = fmt.Fprintf(cl.stdout, "%s\n", b)
	return err
}

func (cl *client) lookup(args []string) error {
	path, err := cl.keyPath("/v1/lookup/", args[0])
	if err != nil {
		return err
	}
	b, err := cl.call(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	var l api.Lookup
	if ok, err := cl.answer(b, &l); !ok {
		return err
	}
	for _, c := range l.Contacts {
		if _, err := fmt.Fprintf(cl.stdout, "%s@%s\n", c.ID, c.Addr); err != nil {
			return err
		}
	}
	return nil
}

func (cl *client) ping(args []string) error {
	body, err := json.Marshal(api.PingRequest{Addr: args[0]})
	if err != nil {
		return err
	}
	b, err := cl.call(http.MethodPost, "/v1/ping", body)
	if err != nil {
		return err
	}
	var p api.Pong
	if ok, err := cl.answer(b, &p); !ok {
		return err
	}
	_, err = fmt.Fprintf(cl.stdout, "pong %s@%s in %.3f ms\n", p.ID, p.Addr, p.RTTMS)
	return err
}

func (cl *client) status([]string) error {
	b, err := cl.call(http.MethodGet, "/v1/status", nil)
	if err != nil {
		return err
	}
	var s api.Status
	if ok, err := cl.answer(b, &s); !ok {
		return err
	}
	verified := "unverified"
	if s.Verified {
		verified = "verified"
	}
	st := s.Stats
	_, err = fmt.Fprintf(cl.stdout, "node %s %s %s %s\nuptime %s\ncontacts %d in %s\nrecords %d, %d bytes\n"+
		"requests sent %d, failed %d\nrequests handled %d, refused %d\nlookups %d, values found %d\n",
		s.ID, s.Addr, s.Transport, verified, time.Duration(s.UptimeS*float64(time.Second)).Round(time.Second),
		s.Contacts, plural(len(s.Buckets), "bucket"), s.Records, s.RecordBytes,
		st.RequestsSent, st.RequestsFailed, st.RequestsHandled, st.RequestsRefused, st.Lookups, st.ValuesFound)
	return err
}
