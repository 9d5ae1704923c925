package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"kad/api"
	"kad/identity"
	"kad/internal/console"
	"kad/internal/datadir"
	"kad/internal/transport"
	"kad/node"
	"kad/protocol"
	"kad/transports"
)

// nodeFlags is what the flags of `kad node` say, checked.
type nodeFlags struct {
	transport  string
	bind       string
	id         protocol.ID // zero: derived from the key
	keyFile    string      // empty: an ephemeral key, or the data directory's
	dataDir    string      // empty: records in memory only
	sync       bool        // sync the record database to the disk on each write
	bootstrap  []protocol.Contact
	k, alpha   int
	requireIDs bool
	reach      node.ReachabilityMode
	logLevel   slog.Level
	logFormat  string // text or json
	api        apiFlags
	network    string // "" for the public network
	limits     limitFlags
	rpcTimeout time.Duration
	timeout    time.Duration
}

func nodeFlagList() []cli.Flag {
	return append(append([]cli.Flag{
		&cli.StringFlag{Name: "transport", Value: "udp", EnvVars: []string{"KAD_TRANSPORT"},
			Usage: "`NAME` of the transport: udp or quic"},
		&cli.StringFlag{Name: "bind", Value: "127.0.0.1:0", EnvVars: []string{"KAD_BIND"},
			Usage: "`HOST:PORT` to listen on; port 0 picks a free one"},
		&cli.StringFlag{Name: "id", EnvVars: []string{"KAD_ID"},
			Usage: "run under this node ID (40 `HEX` characters) instead of the key's; peers cannot verify it"},
		&cli.StringFlag{Name: "key", EnvVars: []string{"KAD_KEY"},
			Usage: "Ed25519 key `FILE`, created if missing; without it a new key each start"},
		&cli.StringFlag{Name: "data-dir", EnvVars: []string{"KAD_DATA_DIR"},
			Usage: "keep the node's key, records, published records and routing table in `DIR`, so that it restarts as itself, with its records, and rejoins through its saved contacts"},
		&cli.BoolFlag{Name: "sync", EnvVars: []string{"KAD_SYNC"},
			Usage: "with --data-dir: sync each write of the records to the disk, so that an acknowledged STORE survives a crash of the machine too"},
		&cli.StringFlag{Name: "bootstrap-addr", EnvVars: []string{"KAD_BOOTSTRAP_ADDR"},
			Usage: "`IP:PORT` of a node to join through (with --bootstrap-id)"},
		&cli.StringFlag{Name: "bootstrap-id", EnvVars: []string{"KAD_BOOTSTRAP_ID"},
			Usage: "node `ID` at --bootstrap-addr"},
		&cli.StringSliceFlag{Name: "bootstrap", EnvVars: []string{"KAD_BOOTSTRAP"},
			Usage: "a node to join through, as `ID@IP:PORT` (or IP:PORT); repeatable"},
		&cli.IntFlag{Name: "k", Value: protocol.K, EnvVars: []string{"KAD_K"},
			Usage: "bucket size and replication factor `N`"},
		&cli.IntFlag{Name: "alpha", Value: protocol.Alpha, EnvVars: []string{"KAD_ALPHA"},
			Usage: "`N` requests in flight per lookup"},
		&cli.StringFlag{Name: "reachability", Value: "auto", EnvVars: []string{"KAD_REACHABILITY"},
			Usage: "`MODE`: auto (check that strangers reach this node, and run as a client while they do not), public (always serve) or client (never serve)"},
		&cli.BoolFlag{Name: "require-verified-ids", EnvVars: []string{"KAD_REQUIRE_VERIFIED_IDS"},
			Usage: "refuse peers whose ID the transport does not prove (quic)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"KAD_LOG_LEVEL"},
			Usage: "`LEVEL` of the logs on standard error: debug, info, warn or error, or one with an offset such as info+2"},
		logFormatFlag(),
		networkFlag(),
		&cli.DurationFlag{Name: "rpc-timeout", Value: time.Second, EnvVars: []string{"KAD_RPC_TIMEOUT"},
			Usage: "`DURATION` bound on one request to one node"},
		&cli.DurationFlag{Name: "timeout", Value: console.DefaultTimeout, EnvVars: []string{"KAD_TIMEOUT"},
			Usage: "`DURATION` bound on bootstrapping and on each console command"},
	}, apiFlagList()...), limitFlagList()...)
}

// parseNodeFlags checks the flags of `kad node`; every error is a usage error.
func parseNodeFlags(c *cli.Context) (nodeFlags, error) {
	if c.Args().Present() {
		return nodeFlags{}, usageErrorf("node takes no arguments, got %q", c.Args().First())
	}
	f := nodeFlags{
		transport:  c.String("transport"),
		bind:       c.String("bind"),
		keyFile:    c.String("key"),
		dataDir:    c.String("data-dir"),
		sync:       c.Bool("sync"),
		k:          c.Int("k"),
		alpha:      c.Int("alpha"),
		requireIDs: c.Bool("require-verified-ids"),
		rpcTimeout: c.Duration("rpc-timeout"),
		timeout:    c.Duration("timeout"),
	}
	// The in-memory transport is known, but no other process can reach a node on it.
	if transport.Check(f.transport) != nil || f.transport == transport.Mem {
		return f, usageErrorf("--transport %q: want udp or quic", f.transport)
	}
	if f.sync && f.dataDir == "" {
		return f, usageErrorf("--sync needs --data-dir: without one the records are in memory")
	}
	if err := checkBind(f.bind); err != nil {
		return f, usageErrorf("--bind %q: %v", f.bind, err)
	}
	if s := c.String("id"); s != "" {
		id, err := protocol.ParseID(s)
		if err != nil {
			return f, usageErrorf("--id: %v", err)
		}
		f.id = id
	}
	addr, id := c.String("bootstrap-addr"), c.String("bootstrap-id")
	switch {
	case addr != "" && id == "":
		return f, usageErrorf("--bootstrap-addr needs --bootstrap-id")
	case addr == "" && id != "":
		return f, usageErrorf("--bootstrap-id needs --bootstrap-addr")
	case addr != "":
		ct, err := protocol.ParseContact(id + "@" + addr)
		if err != nil {
			return f, usageErrorf("--bootstrap-addr %s --bootstrap-id %s: %v", addr, id, err)
		}
		f.bootstrap = append(f.bootstrap, ct)
	}
	for _, s := range c.StringSlice("bootstrap") {
		ct, err := console.ParseTarget(s)
		if err != nil {
			return f, usageErrorf("--bootstrap: %v", err)
		}
		f.bootstrap = append(f.bootstrap, ct)
	}
	reach, err := node.ParseReachabilityMode(c.String("reachability"))
	if err != nil {
		return f, usageErrorf("--reachability: %v", err)
	}
	f.reach = reach
	cfg := node.Config{K: flagValue(f.k), Alpha: flagValue(f.alpha), RPCTimeout: flagValue(f.rpcTimeout)}
	if err := cfg.Validate(); err != nil {
		return f, configFlagError(c, err, nodeConfigFlags)
	}
	level, err := parseLevel(c.String("log-level"))
	if err != nil {
		return f, err
	}
	f.logLevel = level
	if f.logFormat, err = parseLogFormat(c.String("log-format")); err != nil {
		return f, err
	}
	if f.api, err = parseAPIFlags(c); err != nil {
		return f, err
	}
	if f.network, err = parseNetwork(c.String("network")); err != nil {
		return f, err
	}
	if f.limits, err = parseLimitFlags(c); err != nil {
		return f, err
	}
	if f.timeout <= 0 {
		return f, usageErrorf("--timeout %v: want more than 0", f.timeout)
	}
	return f, nil
}

// checkBind accepts HOST:PORT with a numeric port (0 for any free one); the transport
// resolves the host.
func checkBind(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want HOST:PORT")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q: want a number 0..65535", port)
	}
	if host == "" {
		return errors.New("want HOST:PORT with a host, such as 127.0.0.1")
	}
	return nil
}

// nodeConfigFlags names the flag that sets each field of node.Config that one does.
var nodeConfigFlags = map[string]string{"K": "k", "Alpha": "alpha", "RPCTimeout": "rpc-timeout"}

// flagValue is a flag's value as a Config field. A zero in a Config means "the
// default", but a flag's default is already in its value, so a 0 on the command line is
// out of range: it goes in as -1, which Validate refuses with the field's range.
func flagValue[T int | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// configFlagError words an error of a Config's Validate as the flag that set the field
// (flags maps field to flag): "--k 0: want 1..64".
func configFlagError(c *cli.Context, err error, flags map[string]string) error {
	var ce *node.ConfigError
	if errors.As(err, &ce) {
		if name, ok := flags[ce.Field]; ok {
			v := c.Value(name)
			if s, ok := v.(string); ok {
				v = strconv.Quote(s)
			}
			return usageErrorf("--%s %v: want %s", name, v, ce.Want)
		}
	}
	return usageErrorf("%w", err)
}

// parseLevel reads a log level as slog does (debug, info, warn or error in any case,
// with an offset such as info+2), and "warning" too.
func parseLevel(s string) (slog.Level, error) {
	if strings.EqualFold(s, "warning") {
		return slog.LevelWarn, nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, usageErrorf("--log-level %q: want debug, info, warn or error, or one with an offset such as info+2", s)
	}
	return level, nil
}

func nodeCommand() *cli.Command {
	flags := configurable(nodeFlagList())
	return &cli.Command{
		Name:      "node",
		Usage:     "run a node, with its console on standard input",
		UsageText: "kad node [flags]   (then type help)",
		Description: "Prints \"node <id> <ip>:<port> <transport> [verified|unverified]\", joins the network\n" +
			"through the bootstrap nodes if any, then runs the console commands read from standard\n" +
			"input until SIGINT or SIGTERM.",
		Flags:        flags,
		Before:       loadConfig(flags),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			f, err := parseNodeFlags(c)
			if err != nil {
				return err
			}
			return runNode(c, f)
		},
	}
}

// runNode starts a node, prints its line, bootstraps it, and serves the console until
// SIGINT or SIGTERM, on the App's streams.
func runNode(c *cli.Context, f nodeFlags) error {
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// The logs go above the console's prompt when both are on one terminal.
	logOut := &console.SharedOutput{W: c.App.ErrWriter}
	logger, err := newLogger(logOut, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	var dd *dataDir
	if f.dataDir != "" {
		if dd, err = openDataDir(f, logger); err != nil {
			return cli.Exit(err, exitUsage)
		}
		defer dd.close() // deferred first, so it runs after the node's Close
		if f.keyFile == "" {
			f.keyFile = dd.dir.KeyFile()
		}
	}
	key, err := loadKey(f.keyFile)
	if err != nil {
		if dd != nil {
			return cli.Exit(err, exitUsage)
		}
		return cli.Exit(err, exitFailure)
	}
	cfg := node.Config{
		ID:                 f.id,
		K:                  f.k,
		Alpha:              f.alpha,
		RPCTimeout:         f.rpcTimeout,
		RequireVerifiedIDs: f.requireIDs,
		Reachability:       f.reach,
		Logger:             logger,
		OnReachability: func(r node.Reachability) {
			fmt.Fprintln(logOut, reachabilityLine(r))
		},
	}
	f.limits.apply(&cfg)
	metrics := api.NewMetrics()
	cfg.OnLookup = metrics.ObserveLookup
	if dd != nil {
		cfg.Store, cfg.Published = dd.records, dd.records.Published()
	}
	if cfg.ID.IsZero() {
		cfg.ID = identity.IDFromKey(key)
	}
	tr, err := dd.listen(f, key, logger)
	if err != nil {
		return cli.Exit(err, exitFailure)
	}
	n, err := node.New(cfg, tr)
	if err != nil {
		return cli.Exit(err, exitFailure)
	}
	defer n.Close()

	if _, err := fmt.Fprintln(c.App.Writer, console.NodeLine(n, f.transport)); err != nil {
		return cli.Exit(err, exitFailure)
	}
	logger.Debug("node started", "id", n.ID(), "addr", n.Addr(), "transport", f.transport, "verified", n.Verified())
	stopAPI, err := startAPI(ctx, c.App.Writer, logger, f.api, n, tr, f.transport, metrics)
	if err != nil {
		return cli.Exit(err, exitFailure)
	}
	defer stopAPI()

	if err := join(ctx, n, f, dd, logger); err != nil {
		if ctx.Err() != nil {
			return nil // stopped by a signal while joining
		}
		return cli.Exit(err, exitUsage)
	}
	saving := make(chan struct{})
	if dd != nil {
		take := func() datadir.Snapshot { return snapshot(n, f.transport, f.network) }
		if err := dd.dir.SaveSnapshot(take()); err != nil { // the contacts it joined through
			logger.Warn("saving the routing table", "err", err)
		}
		go func() {
			defer close(saving)
			dd.dir.KeepSnapshot(ctx, snapshotInterval, take, logger)
		}()
	} else {
		close(saving)
	}

	con := console.New(n, c.App.Reader, c.App.Writer)
	con.Timeout = f.timeout
	con.Transport = f.transport
	con.Shared = logOut
	if dd != nil {
		con.HistoryFile = dd.dir.HistoryFile()
	}
	conDone := make(chan struct{})
	go func() {
		defer close(conDone)
		// The console may stay blocked on a read of stdin after a signal; the process
		// ends anyway.
		if err := con.Run(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("console stopped", "err", err)
		}
	}()

	<-ctx.Done()
	stop() // a second signal ends the process at once
	if con.OnTerminal() {
		<-conDone // the terminal as it was before the console, and the history saved
	}
	logger.Info("stopping")
	if err := stopAPI(); err != nil {
		logger.Warn("stopping the API", "err", err)
	}
	<-saving
	if dd != nil {
		if err := dd.dir.SaveSnapshot(snapshot(n, f.transport, f.network)); err != nil {
			logger.Warn("saving the routing table", "err", err)
		}
	}
	if err := n.Close(); err != nil && !errors.Is(err, node.ErrClosed) {
		return cli.Exit(fmt.Errorf("close: %w", err), exitFailure)
	}
	return nil
}

// reachabilityLine is what kad node prints when a check changes what the node knows of
// its reachability.
func reachabilityLine(r node.Reachability) string {
	switch r {
	case node.ReachPublic:
		return "reachability: public: strangers reach this node; serving"
	case node.ReachPrivate:
		return "reachability: private: strangers cannot reach this node (behind a NAT or a firewall); running as a client"
	}
	return "reachability: " + r.String()
}

func loadKey(path string) (ed25519.PrivateKey, error) {
	if path != "" {
		return identity.LoadOrCreateKey(path)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	return key, err
}

// listen opens the transport the flags ask for, at bind.
func listen(f nodeFlags, bind string, key ed25519.PrivateKey, logger *slog.Logger) (transports.Transport, error) {
	return transport.Open(f.transport, transport.Options{Bind: bind, Key: key, ClaimedID: f.id, NetworkName: f.network, Logger: logger})
}
