package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/health"
	"github.com/bulwark-go/bulwark/sidecar/internal/h1"
)

// Options are the parts of a [Server] that do not come from the config
// file. The zero value is valid.
type Options struct {
	// ConfigPath is the config file Reload re-reads (SIGHUP, POST
	// /admin/reload, polling). Empty: reloading from a file is off; Apply
	// still works.
	ConfigPath string
	// Logger receives the server's logs. Nil: logs are dropped.
	Logger *slog.Logger
	// Transport makes the round trips to the upstreams. Nil: the
	// sidecar's own, which sends requests without a body to http://
	// upstreams over HTTP/1.1 on the handler's goroutine, and everything
	// else (bodies, upgrades, https, a proxy from the environment) through
	// a clone of http.DefaultTransport; both keep up to 64 idle
	// connections per upstream and never send a request twice.
	Transport http.RoundTripper
	// Dial, if set, opens the connections to the upstreams of the
	// sidecar's own transport (it is not used when Transport is set), as
	// net.Dialer.DialContext does: to count or refuse them, or to resolve
	// names your way. Nil: a net.Dialer with a 30 s connect timeout.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Listen opens the listeners of ListenAndServe. Nil: net.Listen.
	Listen func(network, address string) (net.Listener, error)
	// OnBreakerChange, if set, is told of every breaker state change of
	// every route, outside the breaker's locks.
	OnBreakerChange func(route string, c breaker.Change)
}

// Server is a bulwark sidecar: a reverse proxy whose routes apply
// resilience policies, with an admin API and a live dashboard. It is safe
// for concurrent use; a reload swaps the routes atomically while requests
// are served.
type Server struct {
	opts    Options
	log     *slog.Logger
	base    http.RoundTripper
	ownBase bool // base was made by New: Close closes its idle connections
	started time.Time
	hub     observerHub

	mu       sync.Mutex // serializes Apply and guards the maps below
	breakers map[string]*breakerEntry
	stats    map[string]*routeStats
	gen      atomic.Pointer[generation]
	nextGen  uint64

	lastReload atomic.Pointer[reloadStatus]
	auth       atomic.Pointer[adminAuth] // the admin API's checks, from the running config
	series     series                    // the last five minutes, for the dashboard
	streams    atomic.Int32              // event streams open

	// How long a client connection of the proxy or the admin API may take
	// to send a request's head, and may stay idle between requests, on
	// net/http's server and on the fast path alike (set by New; tests
	// shorten them).
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
}

// The connection timeouts New sets, net/http's usual choices.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
)

// generation is one applied config with the routes built from it.
type generation struct {
	n       uint64
	cfg     *Config
	raw     []byte // the file's bytes, when loaded from a file
	loaded  time.Time
	routes  []*route // config order
	byMatch []*route // match order: host-specific first, longest prefix first
	health  *health.Health
	metrics *metricsSet // nil when Prometheus metrics are not built in
}

// reloadStatus describes the last reload attempt.
type reloadStatus struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// observerHub is the Observer of every policy: it forwards events to the
// current generation's metrics, so that policies kept across reloads report
// to the new ones.
type observerHub struct {
	target atomic.Pointer[bulwark.Observer]
}

func (h *observerHub) Observe(e bulwark.Event) {
	if t := h.target.Load(); t != nil {
		(*t).Observe(e)
	}
}

// New returns a server running cfg, a config returned by ParseConfig or
// LoadConfig.
func New(cfg *Config, opts Options) (*Server, error) {
	s := &Server{
		opts: opts, log: opts.Logger, base: opts.Transport, started: time.Now(),
		breakers: map[string]*breakerEntry{}, stats: map[string]*routeStats{},
		readHeaderTimeout: defaultReadHeaderTimeout, idleTimeout: defaultIdleTimeout,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		if opts.Dial != nil {
			t.DialContext = opts.Dial
		}
		s.base, s.ownBase = h1.New(t), true
	}
	if err := s.apply(cfg, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Open loads the config file at path and returns a server running it, with
// opts.ConfigPath set to path for reloads.
func Open(path string, opts Options) (*Server, error) {
	cfg, raw, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	opts.ConfigPath = path
	s, err := New(cfg, opts)
	if err != nil {
		return nil, err
	}
	s.gen.Load().raw = raw
	return s, nil
}

// Close releases what the server holds beyond its goroutines: the idle
// connections of the transport it made (not of Options.Transport) and the
// routes' Redis clients (rate_limit.redis; a request still served then
// is decided by its outage mode, and a later Apply makes new clients).
// Serve calls it on its way out; call it after Apply-only use.
func (s *Server) Close() {
	if t, ok := s.base.(interface{ CloseIdleConnections() }); ok && s.ownBase {
		t.CloseIdleConnections()
	}
	if g := s.gen.Load(); g != nil {
		for _, r := range g.routes {
			r.redis.close()
		}
	}
}

// Config returns the running config. Do not modify it.
func (s *Server) Config() *Config { return s.gen.Load().cfg }

// Generation counts the configs applied: 1 for the first, then one more per
// successful reload.
func (s *Server) Generation() uint64 { return s.gen.Load().n }

// Apply replaces the running config with cfg, which must come from
// ParseConfig or LoadConfig. Breakers are kept by route name: a route whose
// breaker block is still there keeps its breaker, with its state and
// window, reconfigured in place; every other policy whose block did not
// change is kept too. On error the running config stays as it was.
//
// The listen addresses are read once, when serving starts: a change of
// listen or admin.listen takes a restart (Apply logs it).
func (s *Server) Apply(cfg *Config) error {
	err := s.apply(cfg, nil)
	s.recordReload(err)
	return err
}

func (s *Server) apply(cfg *Config, raw []byte) error {
	if cfg == nil {
		return errors.New("sidecar: nil config")
	}
	auth, err := newAdminAuth(&cfg.Admin, os.Getenv)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.gen.Load()
	prev := map[string]*route{}
	if old != nil {
		for _, r := range old.routes {
			prev[r.cfg.Name] = r
		}
		if cfg.Listen != old.cfg.Listen || cfg.Admin.Listen != old.cfg.Admin.Listen {
			s.log.Warn("listen addresses are read at start: restart to use the new ones",
				"listen", cfg.Listen, "admin", cfg.Admin.Listen)
		}
		if cfg.FastPath != old.cfg.FastPath {
			s.log.Warn("fast_path is read at start: restart to use the new value", "fast_path", cfg.FastPath)
		}
	}

	// Phase 1: build everything that can fail, changing nothing that runs.
	type reconf struct {
		e   *breakerEntry
		cfg breaker.Config
	}
	var reconfs []reconf
	var created []*breakerEntry
	breakers := map[string]*breakerEntry{}
	stats := map[string]*routeStats{}
	routes := make([]*route, 0, len(cfg.Routes))
	kept := map[*redisClient]bool{} // the running routes' Redis clients
	if old != nil {
		for _, r := range old.routes {
			kept[r.redis] = true
		}
	}
	fail := func(err error) error {
		for _, e := range created {
			e.remove()
		}
		for _, r := range routes {
			if !kept[r.redis] {
				r.redis.close()
			}
		}
		return err
	}
	trusted := cfg.trustedPrefixes()
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		var entry *breakerEntry
		if rc.Breaker != nil {
			bc := breakerConfig(rc.Name, rc.Breaker, &s.hub)
			if e, ok := s.breakers[rc.Name]; ok {
				if _, err := breaker.New(bc); err != nil { // Reconfigure's checks, without changing e
					return fail(fmt.Errorf("routes[%d].breaker: %w", i, err))
				}
				reconfs = append(reconfs, reconf{e, bc})
				entry = e
			} else {
				br, err := breaker.New(bc)
				if err != nil {
					return fail(fmt.Errorf("routes[%d].breaker: %w", i, err))
				}
				entry = newBreakerEntry(br, s.opts.OnBreakerChange)
				created = append(created, entry)
			}
			breakers[rc.Name] = entry
		}
		st := s.stats[rc.Name]
		if st == nil {
			st = &routeStats{}
		}
		pol, err := buildPolicies(rc, entry, prev[rc.Name], s.base, st, &s.hub, s.log)
		if err != nil {
			return fail(fmt.Errorf("routes[%d].%w", i, err))
		}
		stats[rc.Name] = st
		routes = append(routes, newRoute(rc, pol, st, trusted, s.log))
	}

	// Phase 2: nothing below fails.
	for _, r := range reconfs {
		if err := r.e.br.Reconfigure(r.cfg); err != nil {
			s.log.Error("breaker reconfigure failed", "route", r.e.br.Name(), "err", err)
		}
	}
	for name, e := range s.breakers {
		if breakers[name] != e {
			e.remove()
		}
	}
	s.breakers, s.stats = breakers, stats
	s.nextGen++
	g := &generation{n: s.nextGen, cfg: cfg, raw: raw, loaded: time.Now(), routes: routes}
	g.byMatch = slices.Clone(routes)
	slices.SortStableFunc(g.byMatch, func(a, b *route) int {
		if (a.host == "") != (b.host == "") {
			if a.host != "" {
				return -1
			}
			return 1
		}
		return len(b.cfg.Prefix) - len(a.cfg.Prefix)
	})
	g.health = s.newHealth(routes)
	g.metrics = newMetricsSet(routes, s.log)
	var target bulwark.Observer
	if g.metrics != nil {
		target = g.metrics.observer
	}
	if target != nil {
		s.hub.target.Store(&target)
	} else {
		s.hub.target.Store(nil)
	}
	s.auth.Store(auth)
	s.gen.Store(g)
	for _, r := range cfg.Routes {
		if w := r.UnboundedWaits(); w != "" {
			s.log.Warn("route has no deadline", "route", r.Name, "detail", w)
		}
	}
	// The Redis clients no route uses any more are closed: a request of
	// the old generation still asking one gets an error, and its route's
	// rate_limit.redis.outage decides it.
	for _, r := range routes {
		delete(kept, r.redis)
	}
	for c := range kept {
		c.close()
	}
	return nil
}

func (s *Server) newHealth(routes []*route) *health.Health {
	h := health.New()
	for _, r := range routes {
		for _, p := range r.policyList() {
			var err error
			if b, ok := p.(*breaker.Breaker); ok && r.cfg.Critical {
				err = h.WatchCritical(b)
			} else {
				err = h.Watch(p)
			}
			if err != nil {
				s.log.Debug("health: policy not reported", "route", r.cfg.Name, "err", err)
			}
		}
	}
	return h
}

// policyList returns the route's policy instances.
func (r *route) policyList() []any {
	var out []any
	if r.breaker != nil {
		out = append(out, r.breaker.br)
	}
	if r.retry != nil {
		out = append(out, r.retry)
	}
	if r.bulkhead != nil {
		out = append(out, r.bulkhead)
	}
	if r.limiter != nil {
		out = append(out, r.limiter)
	}
	if r.keyed != nil {
		out = append(out, r.keyed)
	}
	if r.chaos != nil {
		out = append(out, r.chaos)
	}
	return out
}

func (g *generation) match(req *http.Request) *route {
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, r := range g.byMatch {
		if r.host != "" && r.host != host {
			continue
		}
		if strings.HasPrefix(req.URL.Path, r.cfg.Prefix) {
			return r
		}
	}
	return nil
}

// Handler returns the proxy: it routes each request to the first route that
// matches (routes with a host before those without, longer prefixes before
// shorter) and answers 404 when none does.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if refuseTarget(w, req) {
			return
		}
		req = cleanRequestPath(req)
		r := s.gen.Load().match(req)
		if r == nil {
			closeUnread(w, req)
			w.Header().Set(HeaderReason, "no_route")
			http.Error(w, "no route for this path", http.StatusNotFound)
			return
		}
		start := time.Now()
		r.ServeHTTP(w, req)
		r.stats.latency.observe(time.Since(start))
	})
}

// allowedMethods is the Allow header of the proxy's 405: the methods it
// forwards (any but CONNECT; these are the standard ones).
const allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE"

// refuseTarget answers, and reports true for, a request the proxy does not
// forward whatever its route: CONNECT (405 method_not_allowed: a reverse
// proxy opens no tunnels), a request-target of "*" (400 bad_request: it
// names no path to route on) and a path with a backslash (400 bad_request,
// see refusedPath).
func refuseTarget(w http.ResponseWriter, req *http.Request) bool {
	switch {
	case req.Method == http.MethodConnect:
		closeUnread(w, req)
		w.Header().Set("Allow", allowedMethods)
		rejectReason(w, http.StatusMethodNotAllowed, reasonMethodNotAllowed, "CONNECT is not forwarded")
	case req.RequestURI == "*":
		closeUnread(w, req)
		reject(w, http.StatusBadRequest, outcomeBadRequest, "asterisk-form request target")
	case refusedPath(req.URL.Path):
		closeUnread(w, req)
		reject(w, http.StatusBadRequest, outcomeBadRequest, "backslash in path")
	default:
		return false
	}
	return true
}

// Breaker returns the breaker of the route named route.
func (s *Server) Breaker(route string) (*breaker.Breaker, error) {
	for _, r := range s.gen.Load().routes {
		if r.cfg.Name == route {
			if r.breaker == nil {
				return nil, fmt.Errorf("%w: %q", ErrNoBreaker, route)
			}
			return r.breaker.br, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrNoRoute, route)
}

// fastServer returns the fast path for the proxy listener pl, or nil when
// the config does not ask for it or the sidecar cannot serve it: with
// Options.Transport set (every request must go through it) or when
// http:// requests go through a proxy from the environment.
func (s *Server) fastServer(pl net.Listener) *fastServer {
	if !s.Config().FastPath {
		return nil
	}
	up, ok := s.base.(*h1.Transport)
	switch {
	case !ok || !s.ownBase:
		s.log.Warn("fast_path is on but not used: Options.Transport is set")
		return nil
	case !up.Direct():
		s.log.Warn("fast_path is on but not used: http:// requests go through a proxy (HTTP_PROXY)")
		return nil
	}
	return newFastServer(s, up, pl.Addr())
}

// ListenAndServe listens on the config's listen and admin.listen addresses
// and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	listen := s.opts.Listen
	if listen == nil {
		listen = net.Listen
	}
	cfg := s.Config()
	pl, err := listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	al, err := listen("tcp", cfg.Admin.Listen)
	if err != nil {
		pl.Close()
		return fmt.Errorf("admin.listen: %w", err)
	}
	return s.Serve(ctx, pl, al)
}

// Serve serves the proxy on pl and the admin API on al until ctx is done,
// then shuts both down gracefully, giving requests in flight up to the
// config's shutdown_timeout. It polls the config file while reload.poll is
// set. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, pl, al net.Listener) error {
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	// The proxy's requests still in flight when shutdown_timeout passes are
	// ended (their contexts come from hard) and answered 503 with
	// Connection: close (drainHandler) before their connections close.
	hard, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	proxy := &http.Server{Handler: drainHandler(hard, s.Handler()), BaseContext: func(net.Listener) context.Context { return hard },
		ReadHeaderTimeout: s.readHeaderTimeout, IdleTimeout: s.idleTimeout, ErrorLog: errLog}
	admin := &http.Server{Handler: s.AdminHandler(), ReadHeaderTimeout: s.readHeaderTimeout, IdleTimeout: s.idleTimeout, ErrorLog: errLog}
	fast := s.fastServer(pl)
	s.log.Info("serving", "proxy", pl.Addr().String(), "admin", al.Addr().String(), "fast_path", fast != nil)
	proxyLn := pl
	if fast != nil {
		proxyLn = fast.handoff // what the fast path hands over
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The admin API's requests (the dashboard's event streams) end as
	// shutdown starts.
	admin.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	for _, x := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{proxy, proxyLn}, {admin, al}} {
		wg.Go(func() {
			if err := x.srv.Serve(x.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
				cancel()
			}
		})
	}
	if fast != nil {
		wg.Go(func() {
			if err := fast.serve(pl); !errors.Is(err, net.ErrClosed) {
				errc <- err
				cancel()
			}
		})
	}
	if s.opts.ConfigPath != "" {
		wg.Go(func() { s.poll(ctx) })
	}
	wg.Go(func() { s.sampleLoop(ctx) })
	<-ctx.Done()
	timeout := s.Config().ShutdownTimeout
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer scancel()
	s.log.Info("shutting down", "deadline", timeout)
	var errs []error
	var fastErr chan error
	if fast != nil {
		pl.Close()
		fastErr = make(chan error, 1)
		go func() { fastErr <- fast.shutdown(sctx) }()
	}
	for _, srv := range []*http.Server{proxy, admin} {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, err)
			if srv == proxy {
				drain(srv, hardStop)
			}
			srv.Close()
		}
	}
	if fast != nil {
		if err := <-fastErr; err != nil {
			errs = append(errs, err)
		}
	}
	wg.Wait()
	s.Close()
	close(errc)
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
