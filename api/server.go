package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kad/node"
	"kad/transports"
)

// DefaultTimeout bounds one request when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Options set up a Server. Zero values mean the defaults.
type Options struct {
	// TransportName is the name of the node's transport, for the status and the
	// metrics: "udp", "quic".
	TransportName string
	// Transport is the node's transport: if it implements transports.Counting, its
	// counters are in the status and the metrics. Nil: none.
	Transport transports.Transport
	// Started is when the node started, for the uptime. Default: when New was called.
	Started time.Time
	// Timeout bounds each request: its lookup, put or ping. Default DefaultTimeout.
	Timeout time.Duration
	// Registry is where the metrics are registered, and what /metrics serves. Default:
	// a new registry, with the Go runtime and process collectors besides kad's. A
	// registry given here gets only kad's metrics.
	Registry *prometheus.Registry
	// Metrics holds the lookup histograms, which are fed by Metrics.ObserveLookup set
	// as the node's Config.OnLookup. Default: new Metrics, which stay empty unless its
	// ObserveLookup (Server.Metrics) is wired.
	Metrics *Metrics
	// Logger receives the failures of requests this node is to blame for. Default:
	// discard.
	Logger *slog.Logger
	// AnyHost accepts requests whatever host name they are addressed to. By default only
	// an IP address or localhost is accepted, so that a web page cannot reach a
	// loopback API through a name of its own that it points at 127.0.0.1 (DNS
	// rebinding). Set it when the API is served under a host name.
	AnyHost bool
}

// Server answers the HTTP API of one node (see the package documentation). It is an
// http.Handler, safe for concurrent use.
type Server struct {
	n       *node.Node
	opts    Options
	mux     *http.ServeMux
	metrics *Metrics
}

// New returns the API of n. It fails if the metrics cannot be registered in
// opts.Registry (one registry serves one Server).
func New(n *node.Node, opts Options) (*Server, error) {
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	opts.Timeout = cmp.Or(opts.Timeout, DefaultTimeout)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		if err := registerAll(opts.Registry, collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, err
		}
	}
	if err := registerAll(opts.Registry, newCollector(n, opts.TransportName, opts.Transport), opts.Metrics); err != nil {
		return nil, err
	}
	s := &Server{n: n, opts: opts, mux: http.NewServeMux(), metrics: opts.Metrics}
	s.mux.HandleFunc("GET /v1/status", s.status)
	s.mux.HandleFunc("GET /v1/peers", s.peers)
	s.mux.HandleFunc("PUT /v1/values/{key}", s.put)
	s.mux.HandleFunc("POST /v1/values/{key}", s.put)
	s.mux.HandleFunc("GET /v1/values/{key}", s.get)
	s.mux.HandleFunc("GET /v1/lookup/{key}", s.lookup)
	s.mux.HandleFunc("POST /v1/ping", s.ping)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		Timeout:  opts.Timeout,
	}))
	return s, nil
}

func registerAll(reg *prometheus.Registry, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("api: register metrics: %w", err)
		}
	}
	return nil
}

// Metrics returns the server's lookup metrics, whose ObserveLookup the node's
// Config.OnLookup should call.
func (s *Server) Metrics() *Metrics { return s.metrics }

// ServeHTTP answers one request. What matches no route is answered as the routes'
// errors are: 404 not_found, or 405 not_allowed with the Allow header.
//
// Requests a browser sends on a web page's behalf (they carry an Origin header, or a
// Sec-Fetch-Site other than none) are refused with 403 forbidden: the API has no
// authentication, and a page the node's owner visits must not store values or send
// PINGs through it. So are requests addressed to a host name other than localhost,
// unless Options.AnyHost.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" || cmp.Or(r.Header.Get("Sec-Fetch-Site"), "none") != "none" {
		writeError(w, &Error{Message: "requests from web pages are refused", Code: CodeForbidden})
		return
	}
	if !s.opts.AnyHost && !addressedHost(r.Host) {
		writeError(w, &Error{Message: fmt.Sprintf("host %q: want an IP address or localhost", r.Host), Code: CodeForbidden})
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		// The mux again, which sets the request's path values as it routes.
		s.mux.ServeHTTP(w, r)
		return
	}
	// The mux's own answer: a redirect to the clean path, 404 or 405. It is kept but
	// for the body of an error, which becomes JSON.
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.code {
	case http.StatusNotFound:
		writeError(w, &Error{Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path), Code: CodeNotFound})
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, &Error{Message: fmt.Sprintf("%s takes %s, not %s", r.URL.Path, rec.header.Get("Allow"), r.Method), Code: CodeNotAllowed})
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(cmp.Or(rec.code, http.StatusOK))
		w.Write(rec.body)
	}
}

// addressedHost reports whether host, a request's Host, is an IP address or localhost,
// with or without a port.
func addressedHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return strings.EqualFold(host, "localhost")
}

// recorder keeps what the mux's fallback handlers write.
type recorder struct {
	header http.Header
	code   int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.body = append(r.body, b...)
	return len(b), nil
}

// context returns the request's context bounded by Options.Timeout.
func (s *Server) context(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opts.Timeout)
}

// fail answers err, a failure of the node, as an Error, and logs what this node is to
// blame for.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := nodeError(err)
	if e.Code == CodeInternal {
		s.opts.Logger.Warn("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, e)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status(), e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a type of this package is written, and each of them marshals.
		panic(fmt.Sprintf("api: marshal %T: %v", v, err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
