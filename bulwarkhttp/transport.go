package bulwarkhttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// DefaultMaxHosts is TransportConfig.MaxHosts when it is left 0.
const DefaultMaxHosts = 1000

// DefaultMaxPushback is TransportConfig.MaxPushback when it is left 0.
const DefaultMaxPushback = 30 * time.Second

// IdempotencyKey is the request header that makes a request of any method
// safe to retry: the server promises to apply a request carrying a given key
// at most once.
const IdempotencyKey = "Idempotency-Key"

// TransportConfig configures a [Transport]. The zero value is valid and gives
// a transport that adds nothing to Base: every policy is off until its field
// is set.
type TransportConfig struct {
	// Base sends each attempt. Default: nil, http.DefaultTransport.
	Base http.RoundTripper

	// Key names the upstream a request goes to; each key gets its own
	// breaker, hedger and rate limit. Default: nil, the request's
	// URL.Host ("api.example.com:443" and "api.example.com" are distinct).
	Key func(*http.Request) string
	// MaxHosts bounds how many keys keep a breaker and a hedger at once.
	// When a new key finds the map full, a key whose breaker is closed is
	// forgotten (else any key). Default: DefaultMaxHosts (1000).
	MaxHosts int

	// Retry turns retries on. Only requests that are safe to send again
	// are retried (see [CanRetry]); only connection failures, attempt
	// timeouts and the statuses RetryStatus accepts are retried. Retry-After
	// is honoured: its delay replaces the backoff's (capped by
	// Retry.MaxRetryAfter), and a response asking for longer than
	// MaxPushback is not retried but returned at once. Retry.OnRetry, IsRetryable (which can only refuse
	// more), Budget and Observer apply as documented in package retry;
	// Retry.IsRetryableResult and Retry.AttemptTimeout must be left unset (use
	// RetryStatus and AttemptTimeout). Default: nil, no retries.
	Retry *retry.Config
	// MaxPushback is the longest Retry-After a response may ask for and
	// still be retried: a longer one goes back to the caller at once.
	// (Retry.MaxRetryAfter caps the wait of a Retry-After that is
	// retried.) It must not be negative. Default: 0, DefaultMaxPushback
	// (30 s).
	MaxPushback time.Duration
	// RetryRequest, if set, narrows which requests are retried and hedged
	// (a proxy retrying only the methods its configuration lists): a
	// request is retried when [CanRetry] and RetryRequest both accept it.
	// Default: nil, CanRetry alone.
	RetryRequest func(*http.Request) bool
	// MaxBufferedBody, when positive, lets a request whose body cannot be
	// sent again (no GetBody, as on a server's incoming request) be
	// retried: a body of at most this many bytes is read into memory before
	// the first attempt and every attempt sends a copy; a longer body is
	// sent once, as it streams, and not retried. Only requests that would
	// be retried are buffered. Default: 0, no buffering.
	MaxBufferedBody int64
	// RetryStatus reports whether a response status is worth retrying.
	// Default: nil, [DefaultRetryStatus] (408, 429, 502, 503, 504).
	RetryStatus func(code int) bool

	// AttemptTimeout bounds each attempt from the moment it is sent until
	// the response headers arrive; the body is then read under the
	// caller's context alone. An attempt that runs out of time fails with
	// a *timeout.ExceededError (matching timeout.ErrTimeout) and is
	// retried. Default: 0, no per-attempt limit.
	AttemptTimeout time.Duration

	// Clock, if set, is the clock AttemptTimeout runs on (a simulation's
	// virtual clock). Default: nil, the real clock.
	Clock bulwark.Clock

	// BreakerFor, if set, gives the breaker of each key instead of one made
	// from the Breaker template, for a caller that owns its breakers (a
	// proxy keeping a route's breaker across reloads); nil means no breaker
	// for that key. It is called the first time a key is seen, and again
	// after the key was forgotten (MaxHosts). It must not be set with
	// Breaker. Default: nil.
	BreakerFor func(key string) *breaker.Breaker
	// Breaker is the template of the breaker each key gets, made the first
	// time the key is seen, named "<Name>:<key>" (or the key when Name is
	// empty). Its IsFailure, IsIgnored and IsFailureResult are not used: the
	// transport classifies with IsFailure below. Default: nil, no breaker.
	Breaker *breaker.Config
	// Watchers are told of each breaker made from Breaker when it is made
	// (Watch) and when its key is forgotten to make room (Unwatch), so that
	// metrics and health checks follow every breaker, including one made
	// again for a key that was forgotten: a *prommetrics.Metrics, an
	// *otelmetrics.Metrics, a *health.Health or the watcher
	// health.Health.Critical returns. They are called in the order the
	// breakers come and go, one change at a time, and must not send
	// requests through this Transport. An error from Watch (a policy of the
	// same name watched by hand) is dropped. Breakers given by BreakerFor
	// are the caller's to watch. Default: nil.
	Watchers []Watcher
	// IsFailure reports whether an attempt counts as a failure for the
	// breaker. Exactly one of resp and err is non-nil. The caller's own
	// cancellation is never counted. Default: nil, a transport error or a
	// status of 500 and above.
	IsFailure func(resp *http.Response, err error) bool

	// Hedge is the template of the hedger each key gets (named as for
	// Breaker): a request that is safe to retry and has not been answered
	// after Hedge.Delay is sent again, and the first answer wins. A hedged
	// response that needs retrying (RetryStatus) does not win while another
	// attempt runs. The responses that lose are drained and closed.
	// Hedge.IsSuccess must be left unset. Default: nil, no hedging.
	Hedge *hedge.Config

	// RateLimit, if set, limits the attempts sent to each key (retries and
	// hedges included): an attempt waits for its turn up to the limiter's
	// MaxWait, else fails with a *ratelimit.LimitedError, which is not
	// retried. Default: nil, no limit.
	RateLimit *ratelimit.Keyed
}

// DefaultRetryStatus reports whether a response status is retried by
// default: 408 Request Timeout, 429 Too Many Requests, 502 Bad Gateway,
// 503 Service Unavailable and 504 Gateway Timeout. No other 4xx is, since
// sending the same request again would get the same answer; 500 is not,
// since it usually is a bug that a retry repeats.
func DefaultRetryStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Transport is an [http.RoundTripper] that sends requests through Base
// under retries, a breaker per upstream, per-attempt timeouts, hedging and
// a rate limit per upstream, as its [TransportConfig] says.
//
// It honours the RoundTripper contract: it is safe for concurrent use, it
// never modifies the caller's request (each attempt is a shallow copy;
// attempts after the first take their body from GetBody), and it always
// closes the request body. Each attempt reaches Base exactly once: the copy
// is made so that net/http's Transport cannot resend it on its own after a
// failure on a reused connection (see the package doc, "One request, at
// most MaxAttempts sends"). When the retries run out on a status worth retrying, the caller gets
// the last response with its status and body intact, not an error; the
// bodies of the responses it discarded on the way are drained (up to 64 KiB)
// and closed, so their connections are reused.
//
// Each attempt costs one copy of the request beyond what Base does.
type Transport struct {
	base           http.RoundTripper
	key            func(*http.Request) string
	retry          *retry.Retry // nil: no retries
	retryStatus    func(int) bool
	maxPushback    time.Duration
	attemptTimeout time.Duration
	clk            bulwark.Clock
	isFailure      func(*http.Response, error) bool
	limiter        *ratelimit.Keyed
	retryRequest   func(*http.Request) bool
	maxBuffered    int64
	hosts          *hosts // nil: no breaker and no hedger
	onRetry        func(context.Context, retry.Event)
	retryable      func(error) bool
}

// NewTransport returns a Transport configured by c, or an error naming the
// first invalid field.
func NewTransport(c TransportConfig) (*Transport, error) {
	t := &Transport{
		base:           c.Base,
		key:            c.Key,
		retryStatus:    c.RetryStatus,
		attemptTimeout: c.AttemptTimeout,
		clk:            c.Clock,
		isFailure:      c.IsFailure,
		limiter:        c.RateLimit,
		retryRequest:   c.RetryRequest,
		maxBuffered:    c.MaxBufferedBody,
	}
	switch {
	case c.MaxHosts < 0:
		return nil, fmt.Errorf("bulwarkhttp: TransportConfig.MaxHosts must not be negative (got %d)", c.MaxHosts)
	case c.AttemptTimeout < 0:
		return nil, fmt.Errorf("bulwarkhttp: TransportConfig.AttemptTimeout must not be negative (got %v)", c.AttemptTimeout)
	case c.MaxBufferedBody < 0:
		return nil, fmt.Errorf("bulwarkhttp: TransportConfig.MaxBufferedBody must not be negative (got %d)", c.MaxBufferedBody)
	case c.BreakerFor != nil && c.Breaker != nil:
		return nil, errors.New("bulwarkhttp: TransportConfig.BreakerFor and Breaker are exclusive")
	case c.MaxPushback < 0:
		return nil, fmt.Errorf("bulwarkhttp: TransportConfig.MaxPushback must not be negative (got %v)", c.MaxPushback)
	case len(c.Watchers) > 0 && c.Breaker == nil:
		return nil, errors.New("bulwarkhttp: TransportConfig.Watchers is set but Breaker is nil")
	}
	for i, w := range c.Watchers {
		if w == nil {
			return nil, fmt.Errorf("bulwarkhttp: TransportConfig.Watchers[%d] is nil", i)
		}
	}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if t.key == nil {
		t.key = hostKey
	}
	if t.retryStatus == nil {
		t.retryStatus = DefaultRetryStatus
	}
	if t.isFailure == nil {
		t.isFailure = defaultIsFailure
	}
	if c.Retry != nil {
		rc := *c.Retry
		switch {
		case rc.IsRetryableResult != nil:
			return nil, errors.New("bulwarkhttp: TransportConfig.Retry.IsRetryableResult must be nil (use RetryStatus)")
		case rc.AttemptTimeout != 0:
			return nil, errors.New("bulwarkhttp: TransportConfig.Retry.AttemptTimeout must be 0 (use TransportConfig.AttemptTimeout, which keeps the body readable)")
		}
		t.maxPushback = c.MaxPushback
		if t.maxPushback == 0 {
			t.maxPushback = DefaultMaxPushback
		}
		t.onRetry, t.retryable = rc.OnRetry, rc.IsRetryable
		rc.OnRetry = t.beforeRetry
		rc.IsRetryable = t.shouldRetry
		r, err := retry.New(rc)
		if err != nil {
			return nil, fmt.Errorf("bulwarkhttp: TransportConfig.Retry: %w", err)
		}
		t.retry = r
	}
	if c.Breaker != nil || c.BreakerFor != nil || c.Hedge != nil {
		max := c.MaxHosts
		if max == 0 {
			max = DefaultMaxHosts
		}
		t.hosts = &hosts{max: max, breakerFor: c.BreakerFor, watchers: slices.Clone(c.Watchers)}
		if c.Breaker != nil {
			bc := *c.Breaker
			bc.IsFailure, bc.IsIgnored, bc.IsFailureResult = nil, nil, nil
			if _, err := breaker.New(bc); err != nil {
				return nil, fmt.Errorf("bulwarkhttp: TransportConfig.Breaker: %w", err)
			}
			t.hosts.breaker = &bc
		}
		if c.Hedge != nil {
			if c.Hedge.IsSuccess != nil {
				return nil, errors.New("bulwarkhttp: TransportConfig.Hedge.IsSuccess must be nil (the transport decides which response wins)")
			}
			hc := *c.Hedge
			if _, err := hedge.New(hc); err != nil {
				return nil, fmt.Errorf("bulwarkhttp: TransportConfig.Hedge: %w", err)
			}
			t.hosts.hedge = &hc
		}
		t.hosts.start()
	}
	return t, nil
}

func hostKey(r *http.Request) string { return r.URL.Host }

func defaultIsFailure(resp *http.Response, err error) bool {
	return err != nil || resp.StatusCode >= 500
}

// CanRetry reports whether r may be sent more than once: its method is
// idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or it carries an
// Idempotency-Key (or X-Idempotency-Key) header, and its body, if any, can be sent again
// (r.GetBody is set, as http.NewRequest does for in-memory bodies).
func CanRetry(r *http.Request) bool {
	if hasBody(r) && r.GetBody == nil {
		return false
	}
	return idempotent(r)
}

// idempotent reports whether r's method or headers make it safe to send
// more than once, its body aside.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, "", http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return r.Header.Get(IdempotencyKey) != "" || r.Header.Get("X-Idempotency-Key") != ""
}

func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}

// RoundTrip sends req as the configuration says. See [Transport].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var key string
	var h *host
	if t.hosts != nil || t.limiter != nil {
		key = t.key(req)
		if t.hosts != nil {
			var err error
			if h, err = t.hosts.get(key); err != nil {
				closeBody(req)
				return nil, err
			}
		}
	}
	ctx := req.Context()
	// RetryRequest is the caller's code: asked once per request, for
	// retries and hedges alike. Whether req may be retried at all; whether
	// its body is read into memory for that.
	accepted := t.retryRequest == nil || t.retryRequest(req)
	retryable := t.retry != nil && accepted
	buffer := retryable && hasBody(req) && req.GetBody == nil && t.maxBuffered > 0 && idempotent(req)
	if h != nil && h.breaker != nil && buffer {
		// A breaker that refuses now refuses before the body is read into
		// memory: a proxy's client is then answered at once, and is not
		// asked for its body (no 100 Continue). The attempt asks again.
		if err := refusing(h.breaker); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	req, err := t.prepareBody(req, buffer)
	if err != nil {
		return nil, err
	}
	if !retryable || !CanRetry(req) {
		resp, err := t.attempt(ctx, req, h, key, 1, accepted)
		if resp != nil {
			return resp, nil // a status worth retrying, but no retry
		}
		return nil, err
	}
	c := callPool.Get().(*call)
	*c = call{t: t, req: req, h: h, key: key, accepted: accepted}
	v, err := t.retry.Execute(ctx, c)
	*c = call{}
	callPool.Put(c)
	if resp, _ := v.(*http.Response); resp != nil {
		return resp, nil // success, or the last response when retries ran out
	}
	if err == nil {
		err = errors.New("bulwarkhttp: no response") // unreachable: retry returns a result or an error
	}
	return nil, err
}

// Retry returns the transport's retry policy, for snapshots and metrics;
// nil without retries.
func (t *Transport) Retry() *retry.Retry { return t.retry }

// CloseIdleConnections closes the idle connections of Base, if it can.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// call is the state of one RoundTrip under retries; pooled, since the retry
// policy needs it as an Operation and a fresh one would cost an allocation.
type call struct {
	t   *Transport
	req *http.Request
	h   *host
	key string
	n   int   // attempts started
	err error // the error of the last attempt that was sent, if it failed without a response

	accepted bool // RetryRequest's answer for req
}

var callPool = sync.Pool{New: func() any { return new(call) }}

// Call runs the next attempt.
func (c *call) Call(ctx context.Context) (any, error) {
	c.n++
	resp, err := c.t.attempt(ctx, c.req, c.h, c.key, c.n, c.accepted)
	if resp == nil {
		if c.n > 1 && c.err != nil && localRejection(err) {
			// The breaker opened (or the limit ran out) on the previous
			// attempt's failure: that failure is the answer, not the
			// refusal it caused.
			return nil, retry.Permanent(c.err)
		}
		c.err = err
		return nil, err
	}
	c.err = nil
	return resp, err
}

// attempt runs attempt n of req: the breaker and the rate limit, then the
// request, hedged or not. It returns a response with a *StatusError when the
// status is worth retrying, a response alone otherwise, or an error. accepted
// is RetryRequest's answer for req: with it, a host with a hedger hedges.
func (t *Transport) attempt(ctx context.Context, req *http.Request, h *host, key string, n int, accepted bool) (*http.Response, error) {
	var permit breaker.Permit
	var br *breaker.Breaker
	if h != nil && h.breaker != nil {
		br = h.breaker
		p, err := br.Allow()
		if err != nil {
			if n == 1 {
				closeBody(req)
			}
			return nil, err
		}
		permit = p
	}
	if t.limiter != nil {
		if _, err := t.limiter.ExecuteKey(ctx, key, nop); err != nil {
			permit.Ignore()
			if n == 1 {
				closeBody(req)
			}
			return nil, err
		}
	}
	var resp *http.Response
	var err error
	if h != nil && h.hedger != nil && accepted && CanRetry(req) {
		if n == 1 {
			closeBody(req) // every hedged attempt takes its body from GetBody
		}
		resp, err = t.hedged(ctx, req, h.hedger)
	} else {
		resp, err = t.send(ctx, req, n > 1)
	}
	if br != nil {
		t.record(ctx, permit, resp, err)
	}
	if err != nil || resp == nil {
		return resp, err
	}
	if se := t.statusError(resp); se != nil {
		return resp, se
	}
	return resp, nil
}

// refusing returns the error br would refuse a call with now, or nil. Only
// a breaker in a state that refuses calls is asked; a permit taken to find
// out is released uncounted.
func refusing(br *breaker.Breaker) error {
	switch br.State() {
	case breaker.StateOpen, breaker.StateForcedOpen, breaker.StateHalfOpen:
	default:
		return nil
	}
	p, err := br.Allow()
	if err == nil {
		p.Ignore()
	}
	return err
}

var nop = bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })

// record reports an attempt's outcome to its breaker's permit.
func (t *Transport) record(ctx context.Context, p breaker.Permit, resp *http.Response, err error) {
	if _, ok := err.(*StatusError); ok {
		err = nil
	}
	var rbe *RequestBodyError
	switch {
	case err != nil && (bulwark.CallerDone(ctx, err) || retry.IsPermanent(err) || errors.As(err, &rbe)):
		p.Ignore() // the caller gave up, or the request could not be sent
	case t.isFailure(resp, err):
		p.Failure()
	default:
		p.Done(nil)
	}
}

// statusError returns a *StatusError when resp's status is worth retrying
// and its Retry-After, if any, is within MaxPushback.
func (t *Transport) statusError(resp *http.Response) *StatusError {
	if t.retry == nil || !t.retryStatus(resp.StatusCode) {
		return nil
	}
	se := &StatusError{Response: resp}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if d, ok := ParseRetryAfter(v, time.Now()); ok {
			if d > t.maxPushback {
				return nil // the server asks for longer than we may wait: hand it over now
			}
			se.Wait = d
		}
	}
	return se
}

// send sends one copy of req under ctx, with a body from GetBody when fresh,
// bounded by AttemptTimeout until the response headers arrive. The copy is
// one net/http will not replay (see [sealed]), so that each send is one
// attempt for the retry policy, the breaker and the budget.
func (t *Transport) send(ctx context.Context, req *http.Request, fresh bool) (*http.Response, error) {
	actx := ctx
	var cancel context.CancelCauseFunc
	var timer bulwark.Timer
	if t.attemptTimeout > 0 {
		actx, cancel = context.WithCancelCause(ctx)
		timer = clock.AfterFunc(t.clk, t.attemptTimeout, func() { cancel(&timeout.ExceededError{Duration: t.attemptTimeout}) })
	}
	r := req.WithContext(actx)
	if fresh && hasBody(req) {
		body, err := req.GetBody()
		if err != nil {
			if cancel != nil {
				timer.Stop()
				cancel(nil)
			}
			return nil, retry.Permanent(fmt.Errorf("bulwarkhttp: GetBody: %w", err))
		}
		r.Body = body
	}
	seal(r)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		if berr := bodyFailure(req); berr != nil {
			err = &RequestBodyError{Err: berr}
		}
	}
	if cancel == nil {
		return resp, err
	}
	if !timer.Stop() { // the attempt ran out of time
		cancel(nil)
		if resp != nil {
			discard(resp)
		}
		if ctx.Err() != nil {
			if err == nil {
				err = ctx.Err()
			}
			return nil, err
		}
		return nil, &timeout.ExceededError{Duration: t.attemptTimeout, Err: err}
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	cancelOnClose(resp, cancel)
	return resp, nil
}

// localRejection reports whether err is a refusal by the transport's own
// policies: the attempt was never sent.
func localRejection(err error) bool { return errors.Is(err, bulwark.ErrRejected) }

// beforeRetry is the retry policy's OnRetry: it drains and closes the body
// of the response being retried, before the wait, so that its connection is
// free during the wait.
func (t *Transport) beforeRetry(ctx context.Context, e retry.Event) {
	if se, ok := e.Err.(*StatusError); ok {
		discard(se.Response)
	}
	if t.onRetry != nil {
		t.onRetry(ctx, e)
	}
}

// shouldRetry is the retry policy's IsRetryable.
func (t *Transport) shouldRetry(err error) bool {
	if !retryableError(err) {
		return false
	}
	return t.retryable == nil || t.retryable(err)
}

// retryableError classifies an attempt's error. The caller's own
// cancellation never reaches here (the retry policy stops on it first).
func retryableError(err error) bool {
	if _, ok := err.(*StatusError); ok {
		return true
	}
	var rbe *RequestBodyError
	switch {
	case errors.As(err, &rbe):
		return false // the caller's body failed: it cannot be sent again
	case errors.Is(err, timeout.ErrTimeout):
		return true
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return false // the same certificate will be presented again
	}
	return true // a connection failure
}
