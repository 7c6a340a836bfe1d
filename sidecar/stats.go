package sidecar

import "sync/atomic"

// Outcome says how the proxy answered a request; it is also the value of the
// X-Bulwark-Reason header on the answers the proxy made itself.
type Outcome uint8

// The outcomes of a proxied request.
const (
	OutcomeOK            Outcome = iota // the upstream's answer, not a failure status
	OutcomeUpstreamError                // the upstream's answer, a failure status (after any retries)
	OutcomeBreakerOpen                  // 503: the breaker rejected the request
	OutcomeRateLimited                  // 429: the rate limit refused the request
	OutcomeShed                         // 503: the bulkhead was full
	OutcomeTimeout                      // 504: the last attempt timed out
	OutcomeBadGateway                   // 502: the upstream could not be reached
	OutcomeInjected                     // chaos answered with its error status
	OutcomeClientGone                   // the client went away first
	OutcomeBadRequest                   // 400: the client's body could not be read (malformed), or its path was refused
	OutcomeBodyTimeout                  // 408: the client's body stalled past client_body_timeout or request_timeout
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"ok", "upstream_error", "breaker_open", "rate_limited", "shed", "timeout", "bad_gateway", "injected", "client_gone",
	"bad_request", "body_timeout",
}

// String returns the outcome's snake-case name ("breaker_open").
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// routeStats counts a route's requests by outcome. It is kept by route name
// across reloads.
type routeStats struct {
	requests atomic.Uint64
	retried  atomic.Uint64 // requests that took more than one attempt
	attempts atomic.Uint64 // attempts sent to the upstream
	timeouts atomic.Uint64 // attempts that ran out of the route's timeout
	outcomes [numOutcomes]atomic.Uint64
	latency  latencyHist // each request, from routing to the end of the answer
	upstream latencyHist // each attempt that reached the upstream, until its response headers
}

// Counts is a route's request counts since the sidecar started.
type Counts struct {
	Requests      uint64 `json:"requests"`
	Retried       uint64 `json:"retried"`
	OK            uint64 `json:"ok"`
	UpstreamError uint64 `json:"upstream_error"`
	BreakerOpen   uint64 `json:"breaker_open"`
	RateLimited   uint64 `json:"rate_limited"`
	Shed          uint64 `json:"shed"`
	Timeout       uint64 `json:"timeout"`
	BadGateway    uint64 `json:"bad_gateway"`
	Injected      uint64 `json:"injected"`
	ClientGone    uint64 `json:"client_gone"`
	BadRequest    uint64 `json:"bad_request"`
	BodyTimeout   uint64 `json:"body_timeout"`
}

func (s *routeStats) counts() Counts {
	o := func(k Outcome) uint64 { return s.outcomes[k].Load() }
	return Counts{
		Requests: s.requests.Load(), Retried: s.retried.Load(),
		OK: o(OutcomeOK), UpstreamError: o(OutcomeUpstreamError), BreakerOpen: o(OutcomeBreakerOpen),
		RateLimited: o(OutcomeRateLimited), Shed: o(OutcomeShed), Timeout: o(OutcomeTimeout),
		BadGateway: o(OutcomeBadGateway), Injected: o(OutcomeInjected), ClientGone: o(OutcomeClientGone),
		BadRequest: o(OutcomeBadRequest), BodyTimeout: o(OutcomeBodyTimeout),
	}
}
