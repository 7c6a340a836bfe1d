package sidecar

import "sync/atomic"

// outcome says how the proxy answered a request; it is also the value of the
// X-Bulwark-Reason header on the answers the proxy made itself.
type outcome uint8

// The outcomes of a proxied request.
const (
	outcomeOK            outcome = iota // the upstream's answer, not a failure status
	outcomeUpstreamError                // the upstream's answer, a failure status (after any retries)
	outcomeBreakerOpen                  // 503: the breaker rejected the request
	outcomeRateLimited                  // 429: the rate limit refused the request
	outcomeShed                         // 503: the bulkhead was full
	outcomeTimeout                      // 504: the last attempt timed out
	outcomeBadGateway                   // 502: the upstream could not be reached
	outcomeInjected                     // chaos answered with its error status
	outcomeClientGone                   // the client went away first
	outcomeBadRequest                   // 400: the client's body could not be read (malformed), or its path was refused
	outcomeBodyTimeout                  // 408: the client's body stalled past client_body_timeout or request_timeout
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"ok", "upstream_error", "breaker_open", "rate_limited", "shed", "timeout", "bad_gateway", "injected", "client_gone",
	"bad_request", "body_timeout",
}

// String returns the outcome's snake-case name ("breaker_open").
func (o outcome) String() string {
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

// counts is a route's request counts since the sidecar started.
type counts struct {
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

func (s *routeStats) counts() counts {
	o := func(k outcome) uint64 { return s.outcomes[k].Load() }
	return counts{
		Requests: s.requests.Load(), Retried: s.retried.Load(),
		OK: o(outcomeOK), UpstreamError: o(outcomeUpstreamError), BreakerOpen: o(outcomeBreakerOpen),
		RateLimited: o(outcomeRateLimited), Shed: o(outcomeShed), Timeout: o(outcomeTimeout),
		BadGateway: o(outcomeBadGateway), Injected: o(outcomeInjected), ClientGone: o(outcomeClientGone),
		BadRequest: o(outcomeBadRequest), BodyTimeout: o(outcomeBodyTimeout),
	}
}
