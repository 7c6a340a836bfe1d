package sidecar

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/bulwarkhttp"
	"github.com/bulwark-go/bulwark/bulwarkredis"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/timeout"
)

// Response headers the proxy adds.
const (
	// HeaderReason is set on the answers the proxy makes itself, to why:
	// breaker_open (503), rate_limited (429), shed (503), timeout (504),
	// bad_gateway (502), injected (chaos), bad_request (400),
	// body_timeout (408), no_route (404) or method_not_allowed (405, to
	// CONNECT).
	HeaderReason = "X-Bulwark-Reason"
	// HeaderAttempts is set to the number of attempts when a request took
	// more than one.
	HeaderAttempts = "X-Bulwark-Attempts"
)

// route is one configured route, ready to serve.
type route struct {
	cfg      RouteConfig
	host     string // lower case, "" for any
	upstream *url.URL
	*policies
	stats    *routeStats
	proxy    *httputil.ReverseProxy
	trusted  []netip.Prefix             // trusted_proxies
	clientIP func(*http.Request) string // bulwarkhttp.ClientIP(trusted...)
	log      *slog.Logger

	// The fast path (fast.go): whether it serves this route, and the
	// upstream's dial address, path (without a trailing slash) and query.
	fast         bool
	fastAddr     string
	fastPath     string
	fastQuery    string
	retryMethods map[string]bool
}

// requestInfo travels in a proxied request's context, from the handler to
// the transport and the proxy's hooks.
type requestInfo struct {
	attempts atomic.Int32
	injected atomic.Bool // the last attempt was answered by chaos
	body     *clientBody // the client's body, nil for none
	outcome  outcome
	decided  bool

	// The rate limit's decision, set on the answer's headers (hdr, nil
	// when the route has no rate limit) before proxying; an upstream's 1xx
	// clears them there (ReverseProxy empties the header map after
	// forwarding one), and modifyResponse sets them again.
	rate ratelimit.Decision
	hdr  http.Header

	deadline time.Time // request_timeout's, zero for none
}

type infoKey struct{}

func newRoute(rc *RouteConfig, pol *policies, stats *routeStats, trusted []netip.Prefix, log *slog.Logger) *route {
	u, _ := url.Parse(rc.Upstream) // validated
	r := &route{
		cfg: *rc, host: strings.ToLower(rc.Host), upstream: u, policies: pol, stats: stats,
		trusted: trusted, clientIP: bulwarkhttp.ClientIP(trusted...),
		log: log.With("route", rc.Name),
	}
	r.setFast()
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if rc.StripPrefix {
				pr.Out.URL.Path = "/" + strings.TrimPrefix(strings.TrimPrefix(pr.In.URL.Path, rc.Prefix), "/")
				pr.Out.URL.RawPath = ""
			}
			pr.SetURL(u)
			r.forwarded(pr)
		},
		Transport:      pol.transport,
		ErrorHandler:   r.proxyError,
		ModifyResponse: r.modifyResponse,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BufferPool:     bufferPool{},
		// What the upstream has sent reaches the client within
		// flushInterval: a slow body streams, and its status line is not
		// held back until the response ends or a deadline passes. Not -1
		// (flush each read): ReverseProxy then flushes the headers at once
		// from a goroutine of their own, one more write for every response.
		// Bodies of unknown length and event streams flush each read.
		FlushInterval: flushInterval,
	}
	return r
}

// setFast decides whether the fast path serves the route (fastRefusal) and
// prepares what it needs.
func (r *route) setFast() {
	u := r.upstream
	if fastRefusal(&r.cfg, u) != "" {
		return
	}
	r.fastAddr = u.Host
	if u.Port() == "" {
		r.fastAddr = net.JoinHostPort(u.Hostname(), "80")
	}
	r.fastPath = strings.TrimSuffix(u.Path, "/")
	r.fastQuery = u.RawQuery
	if rc := r.cfg.Retry; rc != nil {
		r.retryMethods = map[string]bool{}
		for _, m := range rc.Methods {
			r.retryMethods[m] = true
		}
	}
	r.fast = true
}

// fastRefusal says why the fast path does not serve route rc with upstream
// u, or "" when it does: not for a per-client or Redis rate limit (keyed on
// the request as net/http parses it), nor for an upstream other than a
// plain http:// URL with a path the fast path can join as net/http would.
func fastRefusal(rc *RouteConfig, u *url.URL) string {
	if rl := rc.RateLimit; rl != nil && rl.PerClient {
		return "rate_limit.per_client"
	}
	if rl := rc.RateLimit; rl != nil && rl.Redis != nil {
		return "rate_limit.redis"
	}
	if u.Scheme != "http" {
		return "an " + u.Scheme + ":// upstream"
	}
	if u.User != nil || u.RawPath != "" || u.Fragment != "" || u.Host == "" {
		return "the upstream URL's form"
	}
	for _, s := range []string{u.Host, u.Path, u.RawQuery} {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c <= ' ' || c >= 0x7f || c == '%' || c == '#' {
				return "the upstream URL's characters"
			}
		}
	}
	return ""
}

// writeGrace is how long past request_timeout the proxy keeps writing an
// answer to a client that does not read it.
const writeGrace = time.Second

// flushInterval is the longest that something the upstream sent waits in
// the proxy's buffer before it is written to the client.
const flushInterval = 100 * time.Millisecond

// bufferPool lends ReverseProxy its 32 KiB copy buffers, shared by every
// route, instead of one allocation per request.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// errRequestTimeout is the cause of a request context that ran past the
// route's request_timeout.
var errRequestTimeout = errors.New("sidecar: request_timeout passed")

// ServeHTTP applies the route's request deadline, rate limit and bulkhead,
// then proxies the request through its transport (retry, breaker, attempt
// timeout and chaos, in bulwarkhttp).
func (r *route) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.stats.requests.Add(1)
	info := &requestInfo{}
	defer func() {
		if n := info.attempts.Load(); n > 1 {
			r.stats.retried.Add(1)
		}
		r.stats.outcomes[info.outcome].Add(1)
	}()
	ctx := req.Context()
	var ctl *http.ResponseController // made once, for the deadlines below
	if d := r.cfg.RequestTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = clock.WithTimeout(ctx, r.cfg.clock, d, errRequestTimeout) // the real clock but in bulwark simulate
		defer cancel()
		info.deadline = clock.Now(r.cfg.clock).Add(d)
		if r.cfg.clock == nil {
			// Writing the answer has a deadline too: a client that does
			// not read it would otherwise hold this handler, and its
			// bulkhead slot, for as long as it keeps the connection open.
			// net/http clears it when the answer is done.
			ctl = http.NewResponseController(w)
			ctl.SetWriteDeadline(time.Now().Add(d + writeGrace))
		}
	}
	if r.limiter != nil || r.keyed != nil || r.shared != nil {
		var d ratelimit.Decision
		switch {
		case r.limiter != nil:
			d = r.limiter.Check()
		case r.keyed != nil:
			d = r.keyed.CheckKey(r.clientKey(req))
		default:
			key := bulwarkredis.DefaultKey
			if r.cfg.RateLimit.PerClient {
				key = r.sharedClientKey(req)
			}
			// A Redis failure is decided by the outage mode and logged by
			// the limiter's OnError; only the client's leaving stops here.
			var err error
			if d, err = r.shared.Allow(ctx, key); err != nil && errors.Is(ctx.Err(), context.Canceled) {
				info.outcome = outcomeClientGone
				return
			}
		}
		h := w.Header()
		bulwarkhttp.SetRateLimitHeaders(h, d)
		info.rate, info.hdr = d, h
		if !d.Allowed {
			info.outcome = outcomeRateLimited
			h.Set("Retry-After", bulwarkhttp.FormatRetryAfter(d.RetryAfter))
			closeUnread(w, req)
			reject(w, http.StatusTooManyRequests, outcomeRateLimited, "rate limit exceeded")
			return
		}
	}
	if r.bulkhead != nil {
		if err := r.bulkhead.Acquire(ctx); err != nil {
			closeUnread(w, req)
			switch {
			case errors.Is(err, bulkhead.ErrFull):
				info.outcome = outcomeShed
				w.Header().Set("Retry-After", "1")
				reject(w, http.StatusServiceUnavailable, outcomeShed, "too many requests in flight")
			case context.Cause(ctx) == errRequestTimeout:
				info.outcome = outcomeTimeout
				reject(w, http.StatusGatewayTimeout, outcomeTimeout, "request timed out")
			default:
				info.outcome = outcomeClientGone
			}
			return
		}
		defer r.bulkhead.Release()
	}
	out := req.WithContext(context.WithValue(ctx, infoKey{}, info))
	if req.Body != nil && req.Body != http.NoBody {
		if ctl == nil {
			ctl = http.NewResponseController(w)
		}
		body := newClientBody(req.Body, w, ctl, r.cfg.ClientBodyTimeout, ctx)
		body.expectContinue(req)
		defer body.finish()
		info.body = body
		out.Body = body
	}
	r.proxy.ServeHTTP(w, out)
	if !info.decided {
		// ReverseProxy answered neither through ModifyResponse nor
		// ErrorHandler: it could not build the outgoing request.
		info.outcome = outcomeBadGateway
	}
}

// closeUnread marks the connection of a request refused before its body
// was read to be closed after the answer. Otherwise net/http would read
// what is left of the body (up to 256 KiB) before answering, with no
// deadline: a client trickling its body would get no answer, and hold a
// goroutine, for as long as it trickles.
func closeUnread(w http.ResponseWriter, req *http.Request) {
	if req.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}

// reasonMethodNotAllowed is the reason of the proxy's 405 to CONNECT,
// refused before routing and so no route's outcome.
const reasonMethodNotAllowed = "method_not_allowed"

func reject(w http.ResponseWriter, code int, o outcome, msg string) {
	rejectReason(w, code, o.String(), msg)
}

func rejectReason(w http.ResponseWriter, code int, reason, msg string) {
	h := w.Header()
	h.Set(HeaderReason, reason)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

func infoOf(req *http.Request) *requestInfo {
	if info, ok := req.Context().Value(infoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

func (r *route) modifyResponse(resp *http.Response) error {
	info := infoOf(resp.Request)
	info.decided = true
	if info.hdr != nil && len(info.hdr["Ratelimit-Limit"]) == 0 {
		bulwarkhttp.SetRateLimitHeaders(info.hdr, info.rate)
	}
	switch {
	case info.injected.Load():
		info.outcome = outcomeInjected
		resp.Header.Set(HeaderReason, outcomeInjected.String())
	case r.isFailure(resp.StatusCode):
		info.outcome = outcomeUpstreamError
	default:
		info.outcome = outcomeOK
	}
	if n := info.attempts.Load(); n > 1 {
		resp.Header.Set(HeaderAttempts, strconv.Itoa(int(n)))
	}
	return nil
}

// proxyError answers a request whose policies, upstream or own body
// failed.
func (r *route) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	info := infoOf(req)
	info.decided = true
	if n := info.attempts.Load(); n > 1 {
		w.Header().Set(HeaderAttempts, strconv.Itoa(int(n)))
	}
	if info.body != nil && !info.body.eof.Load() {
		// Refused with the body unread (breaker open, upstream down):
		// answer now rather than after net/http reads the rest of it.
		w.Header().Set("Connection", "close")
	}
	var body *bulwarkhttp.RequestBodyError
	var open *breaker.OpenError
	switch {
	case errors.As(err, &body):
		// The client's failure, not the upstream's: neither counted by
		// the breaker nor logged as the upstream's.
		if errors.Is(body.Err, os.ErrDeadlineExceeded) {
			info.outcome = outcomeBodyTimeout
			w.Header().Set("Connection", "close")
			reject(w, http.StatusRequestTimeout, outcomeBodyTimeout, "request body timed out")
			return
		}
		info.outcome = outcomeBadRequest
		w.Header().Set("Connection", "close")
		reject(w, http.StatusBadRequest, outcomeBadRequest, "malformed request body")
	case context.Cause(req.Context()) == errRequestTimeout || !info.deadline.IsZero() && !clock.Now(r.cfg.clock).Before(info.deadline):
		// (The second: an attempt can fail on the deadline, a dial
		// bounded by it, before the context's timer has set the cause.)
		info.outcome = outcomeTimeout
		reject(w, http.StatusGatewayTimeout, outcomeTimeout, "request timed out")
	case errors.As(err, &open):
		info.outcome = outcomeBreakerOpen
		w.Header().Set("Retry-After", bulwarkhttp.FormatRetryAfter(open.RetryAfter()))
		reject(w, http.StatusServiceUnavailable, outcomeBreakerOpen, "circuit breaker open")
	case errors.Is(err, timeout.ErrTimeout):
		info.outcome = outcomeTimeout
		reject(w, http.StatusGatewayTimeout, outcomeTimeout, "upstream timed out")
	case req.Context().Err() != nil:
		info.outcome = outcomeClientGone
		w.WriteHeader(499) // nginx's "client closed request"; nobody reads it
	default:
		info.outcome = outcomeBadGateway
		r.log.Warn("upstream unreachable", "err", err)
		reject(w, http.StatusBadGateway, outcomeBadGateway, "upstream unreachable")
	}
}
