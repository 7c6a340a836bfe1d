package bulwarkhttp

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
)

// ServerConfig configures [Protect]. Every policy is optional; panics are
// always recovered.
type ServerConfig struct {
	// Reporter receives recovered panics. Default: nil, recovery's default
	// Reporter.
	Reporter *recovery.Reporter

	// RateLimit limits all requests together (RateLimit middleware).
	// Default: nil, no global limit.
	RateLimit *ratelimit.Limiter
	// RateLimitByKey limits each client separately (RateLimitByKey
	// middleware), clients told apart by ClientKey. It may be set together
	// with RateLimit. Default: nil, no per-client limit.
	RateLimitByKey *ratelimit.Keyed
	// ClientKey names the client of a request for RateLimitByKey. Default:
	// nil, ClientIP() (the connection's peer; see ClientIP for proxies).
	ClientKey func(*http.Request) string

	// Breaker stops calling the handler while it keeps failing (Breaker
	// middleware), failures told by IsFailure. Default: nil, no breaker.
	Breaker *breaker.Breaker
	// IsFailure says which statuses are failures for Breaker. Default: nil,
	// 500 and above.
	IsFailure func(status int) bool

	// Bulkhead limits the requests served at once to a fixed number
	// (Bulkhead middleware). Default: nil. At most one of Bulkhead and
	// Adaptive may be set.
	Bulkhead *bulkhead.Bulkhead
	// Adaptive limits the requests served at once to a number that follows
	// latency, shedding low priorities first (Adaptive middleware).
	// Default: nil.
	Adaptive *adaptive.Limiter
	// Priority gives a request's priority for Adaptive. Default: nil,
	// PriorityHeader(DefaultPriorityHeader).
	Priority func(*http.Request) adaptive.Priority

	// Timeout bounds each handler (Timeout middleware). Default: 0, no
	// bound.
	Timeout time.Duration
}

// Protect returns the middlewares c configures, stacked in this order, the
// first outermost:
//
//  1. Recover: a panic anywhere inside becomes a 500 (and counts as a
//     failure for the breaker on its way out);
//  2. RateLimit, then RateLimitByKey: 429, the cheapest refusal, comes
//     before anything else is spent on the request;
//  3. Breaker: 503 while the handler keeps failing, before a concurrency
//     place is taken; the refusals of the layers inside are not counted;
//  4. Bulkhead or Adaptive: 503 when too many requests are in flight;
//     the place is held while the handler runs, its timeout included;
//  5. Timeout: 503 when the handler is too slow, counted as a failure by
//     the breaker and as overload by the adaptive limiter.
//
// It returns an error naming the field when c is invalid.
func Protect(c ServerConfig) (Middleware, error) {
	switch {
	case c.Bulkhead != nil && c.Adaptive != nil:
		return nil, errors.New("bulwarkhttp: ServerConfig: set at most one of Bulkhead and Adaptive")
	case c.Timeout < 0:
		return nil, fmt.Errorf("bulwarkhttp: ServerConfig.Timeout must not be negative (got %v)", c.Timeout)
	case c.ClientKey != nil && c.RateLimitByKey == nil:
		return nil, errors.New("bulwarkhttp: ServerConfig.ClientKey is set but RateLimitByKey is nil")
	case c.IsFailure != nil && c.Breaker == nil:
		return nil, errors.New("bulwarkhttp: ServerConfig.IsFailure is set but Breaker is nil")
	case c.Priority != nil && c.Adaptive == nil:
		return nil, errors.New("bulwarkhttp: ServerConfig.Priority is set but Adaptive is nil")
	}
	stack := []Middleware{Recover(c.Reporter)}
	if c.RateLimit != nil {
		stack = append(stack, RateLimit(c.RateLimit))
	}
	if c.RateLimitByKey != nil {
		stack = append(stack, RateLimitByKey(c.RateLimitByKey, c.ClientKey))
	}
	if c.Breaker != nil {
		stack = append(stack, Breaker(c.Breaker, c.IsFailure))
	}
	if c.Bulkhead != nil {
		stack = append(stack, Bulkhead(c.Bulkhead))
	}
	if c.Adaptive != nil {
		stack = append(stack, Adaptive(c.Adaptive, c.Priority))
	}
	if c.Timeout > 0 {
		stack = append(stack, Timeout(c.Timeout))
	}
	return Stack(stack...), nil
}

// Stack composes middlewares so that Stack(a, b, c)(h) is a(b(c(h))): the
// first is the outermost.
func Stack(ms ...Middleware) Middleware {
	ms = append([]Middleware(nil), ms...)
	return func(h http.Handler) http.Handler {
		for i := len(ms) - 1; i >= 0; i-- {
			h = ms[i](h)
		}
		return h
	}
}
