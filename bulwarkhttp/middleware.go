package bulwarkhttp

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
)

// Middleware is the shape of every server middleware in this package: it
// wraps a handler in another. It is an alias, so a Middleware is an
// ordinary func(http.Handler) http.Handler.
type Middleware = func(http.Handler) http.Handler

// DefaultPriorityHeader is the request header PriorityHeader reads when
// given no name.
const DefaultPriorityHeader = "X-Priority"

// reject answers a request a middleware refuses: the status with its text,
// and Retry-After in whole seconds (at least 1) when retryAfter is positive.
func reject(w http.ResponseWriter, code int, retryAfter time.Duration) {
	markRejected(w)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", FormatRetryAfter(retryAfter))
	}
	http.Error(w, http.StatusText(code), code)
}

// FormatRetryAfter renders d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func FormatRetryAfter(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(s, 1), 10)
}

// Recover answers 500 Internal Server Error when the handler panics,
// reporting the panic to rep (nil means recovery's default Reporter). It is
// recovery.Middleware; see there for the details (a panic after the
// response started aborts the connection instead).
func Recover(rep *recovery.Reporter) Middleware {
	return func(next http.Handler) http.Handler { return recovery.Middleware(next, rep) }
}

// Bulkhead limits the requests served at once to b's capacity. A request
// that finds no permit (after b's MaxWait, if any) gets 503 Service
// Unavailable with Retry-After: 1. A request whose client went away while
// it waited gets no answer.
func Bulkhead(b *bulkhead.Bulkhead) Middleware {
	if b == nil {
		panic("bulwarkhttp: Bulkhead: nil bulkhead")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := b.Acquire(r.Context()); err != nil {
				if errors.Is(err, bulkhead.ErrFull) {
					reject(w, http.StatusServiceUnavailable, time.Second)
				}
				return
			}
			defer b.Release()
			next.ServeHTTP(w, r)
		})
	}
}

// Adaptive limits the requests served at once to l's limit, which moves
// with the handlers' latency, and sheds low-priority requests first:
// priority gives each request's priority (nil means
// PriorityHeader(DefaultPriorityHeader)). A shed request gets 503 Service
// Unavailable with a Retry-After of the latency estimate (at least 1 s).
//
// The outcome of each request teaches the limiter: 503 and 504 answers
// (a Timeout inside, an overloaded dependency) report overload and lower
// the limit; other answers are latency samples; a request whose client went
// away, that panicked, or that a middleware inside refused teaches nothing.
// A 500 does not lower the limit: a bug that fails fast is not overload.
func Adaptive(l *adaptive.Limiter, priority func(*http.Request) adaptive.Priority) Middleware {
	if l == nil {
		panic("bulwarkhttp: Adaptive: nil limiter")
	}
	if priority == nil {
		priority = PriorityHeader(DefaultPriorityHeader)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := l.AcquirePriority(r.Context(), priority(r))
			if err != nil {
				var oe *adaptive.OverloadedError
				if errors.As(err, &oe) {
					reject(w, http.StatusServiceUnavailable, max(oe.RetryAfter(), time.Second))
				}
				return
			}
			sw := recordStatus(w)
			done := false
			defer func() {
				if !done { // the handler panicked
					tok.OnIgnore()
				}
			}()
			next.ServeHTTP(sw, r)
			done = true
			switch code := sw.Status(); {
			case sw.rejected, r.Context().Err() != nil, code == 0:
				tok.OnIgnore()
			case code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
				tok.OnDropped()
			default:
				tok.OnSuccess()
			}
		})
	}
}

// PriorityHeader returns a function reading a request's priority from the
// header name: "critical" and "high" are adaptive.PriorityCritical, "low"
// is adaptive.PriorityLow, anything else (or nothing) is
// adaptive.PriorityNormal; case does not matter. The adaptive limiter has
// three levels, so "high" shares the critical reserve.
//
// A client can send any header: set it at your edge proxy, or derive the
// priority from what you trust (the route, an authenticated caller).
func PriorityHeader(name string) func(*http.Request) adaptive.Priority {
	if name == "" {
		name = DefaultPriorityHeader
	}
	name = http.CanonicalHeaderKey(name)
	return func(r *http.Request) adaptive.Priority {
		v := r.Header[name]
		if len(v) == 0 {
			return adaptive.PriorityNormal
		}
		switch s := strings.TrimSpace(v[0]); {
		case strings.EqualFold(s, "critical"), strings.EqualFold(s, "high"):
			return adaptive.PriorityCritical
		case strings.EqualFold(s, "low"):
			return adaptive.PriorityLow
		}
		return adaptive.PriorityNormal
	}
}

// Breaker stops calling the handler while it keeps failing: b counts each
// answer for which isFailure is true (nil means a status of 500 and above)
// as a failure, and while b is open requests get 503 Service Unavailable
// with Retry-After set to the rest of the open wait (at least 1 s). A panic
// counts as a failure and goes on up; a request whose client went away, or
// that a middleware inside refused, is not counted.
func Breaker(b *breaker.Breaker, isFailure func(status int) bool) Middleware {
	if b == nil {
		panic("bulwarkhttp: Breaker: nil breaker")
	}
	if isFailure == nil {
		isFailure = func(code int) bool { return code >= 500 }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := b.Allow()
			if err != nil {
				var oe *breaker.OpenError
				var wait time.Duration
				if errors.As(err, &oe) {
					wait = oe.RetryAfter()
				}
				reject(w, http.StatusServiceUnavailable, max(wait, time.Second))
				return
			}
			sw := recordStatus(w)
			done := false
			defer func() {
				if !done { // the handler panicked
					p.Failure()
				}
			}()
			next.ServeHTTP(sw, r)
			done = true
			switch code := sw.Status(); {
			case sw.rejected, code == 0:
				p.Ignore()
			case isFailure(code):
				p.Failure()
			case r.Context().Err() != nil:
				p.Ignore()
			default:
				p.Done(nil)
			}
		})
	}
}

// RateLimit refuses requests beyond l's rate, for all clients together.
// See RateLimitByKey for the answer and its headers.
func RateLimit(l *ratelimit.Limiter) Middleware {
	if l == nil {
		panic("bulwarkhttp: RateLimit: nil limiter")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if limitDecision(w, l.Check()) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// RateLimitByKey gives each client its own rate: key names the client of
// a request (nil means ClientIP(), the address of the connection's peer).
//
// Every response carries RateLimit-Limit (the burst), RateLimit-Remaining
// and RateLimit-Reset (seconds until the burst is full again). A request
// beyond the rate gets 429 Too Many Requests with Retry-After (whole
// seconds, at least 1).
func RateLimitByKey(k *ratelimit.Keyed, key func(*http.Request) string) Middleware {
	if k == nil {
		panic("bulwarkhttp: RateLimitByKey: nil limiter")
	}
	if key == nil {
		key = ClientIP()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if limitDecision(w, k.CheckKey(key(r))) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// limitDecision sets the RateLimit headers and, when d refuses, answers
// 429. It reports whether the request may go on.
func limitDecision(w http.ResponseWriter, d ratelimit.Decision) bool {
	SetRateLimitHeaders(w.Header(), d)
	if d.Allowed {
		return true
	}
	reject(w, http.StatusTooManyRequests, d.RetryAfter)
	return false
}

// SetRateLimitHeaders sets RateLimit-Limit (the burst), RateLimit-Remaining
// and RateLimit-Reset (whole seconds, rounded up, until the burst is full
// again) from a rate limiter's decision. It does not set Retry-After; use
// [FormatRetryAfter] with d.RetryAfter when d refuses.
func SetRateLimitHeaders(h http.Header, d ratelimit.Decision) {
	reset := int64(math.Ceil(d.ResetAfter.Seconds()))
	// One array for the three values, each header capped at its own
	// element, and the keys in canonical form: this runs on every
	// request of a rate-limited route.
	v := [...]string{strconv.Itoa(d.Limit), strconv.Itoa(max(d.Remaining, 0)), strconv.FormatInt(max(reset, 0), 10)}
	vs := v[:]
	h["Ratelimit-Limit"] = vs[0:1:1]
	h["Ratelimit-Remaining"] = vs[1:2:2]
	h["Ratelimit-Reset"] = vs[2:3:3]
}
