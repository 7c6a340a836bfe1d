package sidecar

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/timeout"
)

// Response headers the proxy adds.
const (
	// HeaderReason is set on the answers the proxy makes itself (rejections,
	// timeouts, bad gateway) to the [Outcome]'s name.
	HeaderReason = "X-Bulwark-Reason"
	// HeaderAttempts is set to the number of attempts when a request took
	// more than one.
	HeaderAttempts = "X-Bulwark-Attempts"
)

// maxErrorBody is how much of an upstream's failure-status body is kept, so
// that the attempt can be retried and the last answer passed on.
const maxErrorBody = 64 << 10

// route is one configured route, ready to serve.
type route struct {
	cfg      RouteConfig
	host     string // lower case, "" for any
	upstream *url.URL
	failure  [200]bool // statuses 400..599 counted as failures
	retryOn  map[string]bool
	maxBody  int64
	*policies
	stats *routeStats
	proxy *httputil.ReverseProxy
	log   *slog.Logger
}

// requestInfo travels in a proxied request's context, from the handler to
// the transport and the proxy's hooks.
type requestInfo struct {
	attempts atomic.Int32
	outcome  Outcome
	decided  bool
}

type infoKey struct{}

func newRoute(rc *RouteConfig, pol *policies, stats *routeStats, base http.RoundTripper, log *slog.Logger) *route {
	u, _ := url.Parse(rc.Upstream) // validated
	r := &route{
		cfg: *rc, host: strings.ToLower(rc.Host), upstream: u, policies: pol, stats: stats,
		log: log.With("route", rc.Name),
	}
	for _, code := range rc.FailureStatuses {
		r.failure[code-400] = true
	}
	if rc.Retry != nil {
		r.retryOn = map[string]bool{}
		for _, m := range rc.Retry.Methods {
			r.retryOn[m] = true
		}
		r.maxBody = rc.Retry.MaxBodyBytes
	}
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if rc.StripPrefix {
				pr.Out.URL.Path = "/" + strings.TrimPrefix(strings.TrimPrefix(pr.In.URL.Path, rc.Prefix), "/")
				pr.Out.URL.RawPath = ""
			}
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport:      &transport{r: r, base: base},
		ErrorHandler:   r.proxyError,
		ModifyResponse: r.modifyResponse,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BufferPool:     bufferPool{},
	}
	return r
}

// bufferPool lends ReverseProxy its 32 KiB copy buffers, shared by every
// route, instead of one allocation per request.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

func (r *route) isFailure(code int) bool {
	return code >= 400 && code <= 599 && r.failure[code-400]
}

// ServeHTTP applies the route's rate limit and bulkhead, then proxies the
// request through retry, breaker, timeout and chaos.
func (r *route) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.stats.requests.Add(1)
	info := &requestInfo{}
	defer func() {
		if n := info.attempts.Load(); n > 1 {
			r.stats.retried.Add(1)
		}
		r.stats.outcomes[info.outcome].Add(1)
	}()
	if r.limiter != nil || r.keyed != nil {
		var d ratelimit.Decision
		if r.limiter != nil {
			d = r.limiter.Check()
		} else {
			d = r.keyed.CheckKey(r.clientKey(req))
		}
		h := w.Header()
		bulwarkhttp.SetRateLimitHeaders(h, d)
		if !d.Allowed {
			info.outcome = OutcomeRateLimited
			h.Set("Retry-After", bulwarkhttp.FormatRetryAfter(d.RetryAfter))
			reject(w, http.StatusTooManyRequests, OutcomeRateLimited, "rate limit exceeded")
			return
		}
	}
	if r.bulkhead != nil {
		if err := r.bulkhead.Acquire(req.Context()); err != nil {
			if errors.Is(err, bulkhead.ErrFull) {
				info.outcome = OutcomeShed
				w.Header().Set("Retry-After", "1")
				reject(w, http.StatusServiceUnavailable, OutcomeShed, "too many requests in flight")
				return
			}
			info.outcome = OutcomeClientGone
			return
		}
		defer r.bulkhead.Release()
	}
	r.proxy.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), infoKey{}, info)))
	if !info.decided {
		// ReverseProxy answered neither through ModifyResponse nor
		// ErrorHandler: it could not build the outgoing request.
		info.outcome = OutcomeBadGateway
	}
}

func (r *route) clientKey(req *http.Request) string {
	if h := r.cfg.RateLimit.ClientHeader; h != "" {
		if v := req.Header.Get(h); v != "" {
			return "h:" + v
		}
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	return "ip:" + host
}

func reject(w http.ResponseWriter, code int, o Outcome, msg string) {
	h := w.Header()
	h.Set(HeaderReason, o.String())
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
	info.outcome = OutcomeOK
	if r.isFailure(resp.StatusCode) {
		info.outcome = OutcomeUpstreamError
	}
	if n := info.attempts.Load(); n > 1 {
		resp.Header.Set(HeaderAttempts, strconv.Itoa(int(n)))
	}
	return nil
}

// proxyError answers a request whose policies or upstream failed.
func (r *route) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	info := infoOf(req)
	info.decided = true
	if n := info.attempts.Load(); n > 1 {
		w.Header().Set(HeaderAttempts, strconv.Itoa(int(n)))
	}
	var open *breaker.OpenError
	var se *statusError
	switch {
	case errors.As(err, &open):
		info.outcome = OutcomeBreakerOpen
		w.Header().Set("Retry-After", bulwarkhttp.FormatRetryAfter(open.RetryAfter()))
		reject(w, http.StatusServiceUnavailable, OutcomeBreakerOpen, "circuit breaker open")
	case errors.Is(err, timeout.ErrTimeout):
		info.outcome = OutcomeTimeout
		reject(w, http.StatusGatewayTimeout, OutcomeTimeout, "upstream timed out")
	case errors.As(err, &se):
		info.outcome = OutcomeInjected
		reject(w, se.code, OutcomeInjected, "injected fault")
	case req.Context().Err() != nil:
		info.outcome = OutcomeClientGone
		w.WriteHeader(499) // nginx's "client closed request"; nobody reads it
	default:
		info.outcome = OutcomeBadGateway
		r.log.Warn("upstream unreachable", "err", err)
		reject(w, http.StatusBadGateway, OutcomeBadGateway, "upstream unreachable")
	}
}

// transport runs each round trip to the upstream through the route's
// policies.
type transport struct {
	r    *route
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := t.r
	info := infoOf(req)
	policy := r.noRetry
	var body []byte
	if r.retry != nil && r.retryOn[req.Method] {
		replayable := true
		if req.Body != nil && req.Body != http.NoBody {
			b, err := io.ReadAll(io.LimitReader(req.Body, r.maxBody+1))
			if err != nil {
				req.Body.Close()
				return nil, err
			}
			if int64(len(b)) > r.maxBody {
				// Too large to keep: send it once, as it comes.
				req = req.Clone(req.Context())
				req.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(b), req.Body), req.Body}
				replayable = false
			} else {
				req.Body.Close()
				body = b
			}
		}
		if replayable {
			policy = r.withRetry
		}
	}
	outer := req.Context()
	resp, err := bulwark.Get(outer, policy, func(ctx context.Context) (*http.Response, error) {
		info.attempts.Add(1)
		return t.attempt(ctx, outer, req, body)
	})
	if err != nil {
		var se *statusError
		if errors.As(err, &se) && se.resp != nil {
			return se.resp, nil // pass on the upstream's last answer
		}
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, err
	}
	return resp, nil
}

// attempt makes one round trip. The request runs under a context derived
// from the client's (outer), tied to the attempt's context (ctx, which the
// timeout and retry policies end) only until the response headers arrive,
// so that ending ctx when the policies return does not cut off the body.
func (t *transport) attempt(ctx, outer context.Context, req *http.Request, body []byte) (*http.Response, error) {
	rctx, cancel := context.WithCancelCause(outer)
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	out := req.WithContext(rctx)
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		stop()
		cancel(nil)
		if ctx.Err() != nil && outer.Err() == nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	if t.r.isFailure(resp.StatusCode) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		stop()
		cancel(nil)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
		resp.TransferEncoding = nil
		return resp, &statusError{code: resp.StatusCode, retryAfter: retryAfterOf(resp), resp: resp}
	}
	if !stop() {
		// The attempt's context ended as the headers came: the body is
		// already cut off.
		resp.Body.Close()
		cancel(nil)
		return nil, context.Cause(ctx)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection's body must stay an io.ReadWriteCloser;
		// rctx ends with the client's request.
		return resp, nil
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the request's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// retryAfterOf reads the upstream's Retry-After, in seconds or as an HTTP
// date (bulwarkhttp.ParseRetryAfter); an absent or malformed value gives 0,
// which leaves the wait to the backoff. The retry policy caps it with
// max_retry_after.
func retryAfterOf(resp *http.Response) time.Duration {
	d, _ := bulwarkhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return d
}
